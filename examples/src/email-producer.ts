import { Producer } from '@asyncq/producer';
import { sendEmail } from './tasks.js';

const producer = new Producer({ queue: 'emails', connection: process.env.REDIS_URL });

const ref = await producer.enqueue(sendEmail, { to: 'ada@example.com', subject: 'Hello' }, {
  attempts: 3,
  backoff: { type: 'exponential', delay: 1000 },
});
const { messageId } = await ref.result({ timeout: 30_000 }); // throws TaskFailed with the remote error
console.log('sent', messageId);

const people = ['bob', 'cy', 'di'].map((name) => ({ to: `${name}@example.com`, subject: 'News' }));
await producer.enqueueMany(people.map((data) => ({ name: sendEmail.name, data })), {
  onProgress: (done, total) => console.log(`enqueued ${done}/${total}`),
});
await producer.join(); // every task finished
await producer.close();

import { Queue } from '@asyncq/core';

// The same queue name is the same queue in every process that uses it.
const q = new Queue<{ url: string }>('thumbnails', { connection: process.env.REDIS_URL, maxsize: 100 });

await q.put({ url: 'https://example.com/cat.png' }); // waits while 100 tasks are ready

const item = await q.get(); // this handle holds the task until taskDone
console.log('resizing', item.url);
await q.taskDone();

await q.join(); // every task put by anyone is finished
await q.close();

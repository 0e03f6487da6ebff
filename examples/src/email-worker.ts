import { Worker } from '@asyncq/worker';
import handlers from './email-handlers.js';

const worker = new Worker('emails', handlers, {
  connection: process.env.REDIS_URL,
  concurrency: 16,
  metricsPort: 9464, // /metrics and /healthz on 127.0.0.1:9464
});
await worker.run(); // until SIGTERM or SIGINT: running tasks get 10 s to finish, the rest go back to the queue

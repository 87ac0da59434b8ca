/**
 * Runs the app's storage-queue functions as the Functions host does, with host.json's
 * `extensions.queues` settings: polling with back-off, up to `batchSize` messages at a time (a new
 * batch once `newBatchThreshold` or fewer run), each kept invisible while its function runs (the
 * invisibility renewed at half its length), deleted on success, made visible again after
 * `visibilityTimeout` on failure, and moved to `<queue>-poison` after `maxDequeueCount` attempts.
 */
import fs from 'node:fs';
import { QueueServiceClient, type DequeuedMessageItem, type QueueClient } from '@azure/storage-queue';
import type { Registration } from './functionsCore';
import { newInvocationContext } from './httpAdapter';
import { resolveSetting } from './timers';

export interface QueueSettings {
  readonly batchSize: number;
  readonly newBatchThreshold: number;
  readonly maxDequeueCount: number;
  /** Seconds a failed message waits before it is tried again. */
  readonly visibilityTimeoutSeconds: number;
  readonly maxPollingIntervalMs: number;
  readonly messageEncoding: 'base64' | 'none';
  /** Seconds a message stays invisible while its function runs (renewed at half): the Functions host's 10 minutes. */
  readonly invisibleSeconds: number;
}

/** host.json's queue settings with the host's defaults; LOCAL_QUEUE_* variables shorten the host's own timings (tests). */
export function queueSettings(hostJsonFile: string, env: NodeJS.ProcessEnv = process.env): QueueSettings {
  const queues = (JSON.parse(fs.readFileSync(hostJsonFile, 'utf8')).extensions?.queues ?? {}) as Record<string, unknown>;
  const batchSize = Number(queues.batchSize ?? 16);
  return {
    batchSize,
    newBatchThreshold: Number(queues.newBatchThreshold ?? Math.floor(batchSize / 2)),
    maxDequeueCount: Number(queues.maxDequeueCount ?? 5),
    visibilityTimeoutSeconds: Number(env.LOCAL_QUEUE_RETRY_SECONDS || timeSpanSeconds(String(queues.visibilityTimeout ?? '00:00:00'))),
    maxPollingIntervalMs: Number(env.LOCAL_QUEUE_MAX_POLL_MS || timeSpanSeconds(String(queues.maxPollingInterval ?? '00:01:00')) * 1000),
    messageEncoding: queues.messageEncoding === 'none' ? 'none' : 'base64',
    invisibleSeconds: Number(env.LOCAL_QUEUE_INVISIBLE_SECONDS || 600),
  };
}

/** `hh:mm:ss` as seconds. */
function timeSpanSeconds(text: string): number {
  const [h, m, s] = text.split(':').map(Number);
  return (h * 60 + m) * 60 + s;
}

export async function startQueueTriggers(
  registrations: readonly Registration[],
  connectionString: string,
  settings: QueueSettings,
): Promise<{ names: string[]; stop(): Promise<void> }> {
  const service = QueueServiceClient.fromConnectionString(connectionString);
  const listeners: QueueListener[] = [];
  for (const registration of registrations.filter((r) => r.trigger.type === 'queueTrigger')) {
    const name = resolveSetting(registration.trigger.queueName ?? '');
    const queue = service.getQueueClient(name);
    const poison = service.getQueueClient(`${name}-poison`);
    await queue.createIfNotExists();
    await poison.createIfNotExists();
    listeners.push(new QueueListener(registration, queue, poison, settings));
  }
  for (const listener of listeners) listener.start();
  return {
    names: listeners.map((l) => l.describe()),
    stop: async () => {
      await Promise.all(listeners.map((l) => l.stop()));
    },
  };
}

class QueueListener {
  private readonly running = new Set<Promise<void>>();
  private stopped = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly registration: Registration,
    private readonly queue: QueueClient,
    private readonly poison: QueueClient,
    private readonly settings: QueueSettings,
  ) {}

  describe(): string {
    return `${this.queue.name} (${this.registration.name})`;
  }

  start(): void {
    this.loop = this.poll();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    await Promise.allSettled([...this.running]);
  }

  private async poll(): Promise<void> {
    let idleMs = 100;
    while (!this.stopped) {
      if (this.running.size > this.settings.newBatchThreshold) {
        await Promise.race(this.running);
        continue;
      }
      let messages: DequeuedMessageItem[] = [];
      try {
        const room = Math.min(32, this.settings.batchSize - this.running.size);
        messages = (await this.queue.receiveMessages({ numberOfMessages: room, visibilityTimeout: this.settings.invisibleSeconds }))
          .receivedMessageItems;
      } catch (error) {
        if (!this.stopped)
          console.error(`[${this.registration.name}] could not read the queue ${this.queue.name}:`, (error as Error).message);
      }
      if (messages.length === 0) {
        // Back-off while the queue is empty, as the host does: doubling up to maxPollingInterval.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, idleMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        idleMs = Math.min(idleMs * 2, this.settings.maxPollingIntervalMs);
        continue;
      }
      idleMs = 100;
      for (const message of messages) {
        const done = this.process(message).finally(() => this.running.delete(done));
        this.running.add(done);
      }
    }
  }

  private async process(message: DequeuedMessageItem): Promise<void> {
    let popReceipt = message.popReceipt;
    const renewal = setInterval(
      () => {
        this.queue
          .updateMessage(message.messageId, popReceipt, undefined, this.settings.invisibleSeconds)
          .then((updated) => (popReceipt = updated.popReceipt ?? popReceipt))
          .catch(() => undefined); // the next renewal tries again; the message may reappear meanwhile
      },
      (this.settings.invisibleSeconds * 1000) / 2,
    );
    const context = newInvocationContext(this.registration.name, {
      id: message.messageId,
      popReceipt: message.popReceipt,
      dequeueCount: message.dequeueCount,
      insertionTime: message.insertedOn.toISOString(),
      expirationTime: message.expiresOn.toISOString(),
      nextVisibleTime: message.nextVisibleOn.toISOString(),
    });
    let failed = false;
    try {
      await this.registration.handler(decode(message.messageText, this.settings.messageEncoding), context);
    } catch (error) {
      failed = true;
      context.error(`message ${message.messageId} failed on attempt ${message.dequeueCount}:`, (error as Error).message);
    } finally {
      clearInterval(renewal);
    }
    try {
      if (!failed) {
        await this.queue.deleteMessage(message.messageId, popReceipt);
      } else if (message.dequeueCount >= this.settings.maxDequeueCount) {
        await this.poison.sendMessage(message.messageText);
        await this.queue.deleteMessage(message.messageId, popReceipt);
        context.warn(`message ${message.messageId} moved to ${this.poison.name} after ${message.dequeueCount} attempts`);
      } else {
        await this.queue.updateMessage(message.messageId, popReceipt, undefined, this.settings.visibilityTimeoutSeconds);
      }
    } catch (error) {
      // Its invisibility runs out and it is delivered again: at least once, as on Azure.
      context.warn(`could not settle message ${message.messageId}:`, (error as Error).message);
    }
  }
}

/** The message as the Functions host hands it over: decoded, and parsed when it is JSON. */
function decode(text: string, encoding: QueueSettings['messageEncoding']): unknown {
  const decoded = encoding === 'base64' ? Buffer.from(text, 'base64').toString('utf8') : text;
  try {
    return JSON.parse(decoded);
  } catch {
    return decoded;
  }
}

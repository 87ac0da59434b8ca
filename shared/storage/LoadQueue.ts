/**
 * The queue of load work, in the function app's own storage: each message names a run, and the
 * queue-triggered worker (functions/loadWorker.ts) does a share of it. Messages are base64 JSON,
 * the Functions host's default encoding (host.json extensions.queues.messageEncoding).
 */
import type { QueueClient } from '@azure/storage-queue';

/** The queue's binding: the LOAD_QUEUE setting; the Functions host moves a message that failed every attempt to `<name>-poison`. */
export const LOAD_QUEUE_BINDING = '%LOAD_QUEUE%';

export interface LoadMessage {
  readonly runId: string;
}

export class LoadQueue {
  constructor(
    private readonly queue: QueueClient,
    private readonly poison: QueueClient,
  ) {}

  /** Sends a message, visible after `delaySeconds`. */
  async send(message: LoadMessage, delaySeconds = 0): Promise<void> {
    await this.queue.sendMessage(encodeMessage(message), delaySeconds > 0 ? { visibilityTimeout: delaySeconds } : {});
  }

  /** Creates the queues where they are missing (on Azure, the infrastructure creates them). */
  async ensureQueues(): Promise<void> {
    await this.queue.createIfNotExists();
    await this.poison.createIfNotExists();
  }
}

export function encodeMessage(message: LoadMessage): string {
  return Buffer.from(JSON.stringify(message)).toString('base64');
}

/** The run a message names, whatever the host handed over: the decoded object, or its text. */
export function runIdOf(message: unknown): string | undefined {
  const value = typeof message === 'string' ? safeJson(message) : message;
  const runId = (value as { runId?: unknown } | null)?.runId;
  return typeof runId === 'string' ? runId : undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Stands in for `@azure/functions-core`, the module that the Azure Functions Node.js worker
 * provides to `@azure/functions` at run time. Installed before the function files load, it
 * receives their `app.http`/`app.timer` registrations exactly as the worker would: the metadata
 * (routes, methods, schedules) and the handlers themselves, so the local host serves the very
 * code Azure runs and never a copy of its routing table.
 */
import Module from 'node:module';

export interface Registration {
  readonly name: string;
  readonly trigger: { type: string; route?: string; methods?: string[]; authLevel?: string; schedule?: string; queueName?: string };
  readonly handler: (...args: unknown[]) => unknown;
}

const CORE_MODULE = '@azure/functions-core';

export function captureRegistrations(): Registration[] {
  const registrations: Registration[] = [];
  const core = {
    version: 'local-host',
    hostVersion: 'local-host',
    registerFunction(
      metadata: { name: string; bindings: Record<string, Registration['trigger'] & { direction: string }> },
      handler: Registration['handler'],
    ) {
      const trigger = Object.values(metadata.bindings).find((b) => b.direction === 'in' && b.type.endsWith('Trigger'));
      if (!trigger) throw new Error(`function ${metadata.name} has no trigger`);
      registrations.push({ name: metadata.name, trigger, handler });
      return { dispose() {} };
    },
    setProgrammingModel() {},
    getProgrammingModel() {},
    registerHook() {
      return { dispose() {} };
    },
    // Its presence tells @azure/functions that HTTP streaming is supported.
    log(level: string, category: string, message: string) {
      if (level === 'error' || level === 'warning') console.error(`[${category}] ${message}`);
    },
  };
  const moduleApi = Module as unknown as {
    _resolveFilename: (request: string, ...rest: unknown[]) => string;
    _cache: Record<string, unknown>;
  };
  const resolve = moduleApi._resolveFilename;
  moduleApi._resolveFilename = function (request: string, ...rest: unknown[]) {
    return request === CORE_MODULE ? CORE_MODULE : resolve.call(this, request, ...rest);
  };
  moduleApi._cache[CORE_MODULE] = { id: CORE_MODULE, filename: CORE_MODULE, loaded: true, exports: core };
  return registrations;
}

import type { Registration } from './functionsCore';

export interface RouteMatch {
  readonly registration: Registration;
  readonly params: Record<string, string>;
}

interface CompiledRoute {
  readonly registration: Registration;
  readonly pattern: RegExp;
  readonly names: string[];
  readonly methods: string[];
}

/** Matches request paths against the functions' route templates, as the Functions host does. */
export class Router {
  private readonly routes: CompiledRoute[];

  constructor(
    registrations: readonly Registration[],
    private readonly prefix: string,
  ) {
    this.routes = registrations
      .filter((r) => r.trigger.type === 'httpTrigger')
      .map((registration) => {
        const names: string[] = [];
        const template = (registration.trigger.route ?? registration.name).replace(/^\/+|\/+$/g, '');
        const source = template
          .split('/')
          .map((segment) => {
            const param = /^\{(\*)?(\w+)(?::\w+)?(\?)?\}$/.exec(segment);
            if (!param) return '/' + segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
            names.push(param[2]);
            // A catch-all ({*rest}) takes the rest of the path, slashes and all, or nothing.
            if (param[1]) return '(?:/(.*))?';
            return param[3] ? '(?:/([^/]+))?' : '/([^/]+)';
          })
          .join('');
        return {
          registration,
          pattern: new RegExp(`^${source}/?$`, 'i'),
          names,
          methods: (registration.trigger.methods ?? ['GET', 'POST']).map((m) => m.toUpperCase()),
        };
      });
  }

  /** The function for this method and path; `undefined` if no route matches, 'method' if only the method does not. */
  match(method: string, pathname: string): RouteMatch | 'method' | undefined {
    const prefix = this.prefix ? `/${this.prefix}` : '';
    if (!pathname.toLowerCase().startsWith(prefix + '/') && pathname.toLowerCase() !== prefix) return undefined;
    const rest = pathname.slice(prefix.length);
    let methodMismatch = false;
    for (const route of this.routes) {
      const m = route.pattern.exec(rest);
      if (!m) continue;
      if (!route.methods.includes(method.toUpperCase())) {
        methodMismatch = true;
        continue;
      }
      const params: Record<string, string> = {};
      route.names.forEach((name, i) => {
        if (m[i + 1] !== undefined) params[name] = decodeSegment(m[i + 1]);
      });
      return { registration: route.registration, params };
    }
    return methodMismatch ? 'method' : undefined;
  }

  /** The routes, for printing at start. */
  describe(): { methods: string[]; path: string; name: string }[] {
    return this.routes.map((r) => ({
      methods: r.methods,
      path: `/${this.prefix}/${(r.registration.trigger.route ?? r.registration.name).replace(/^\/+/, '')}`,
      name: r.registration.name,
    }));
  }
}

/** A path segment with its percent-escapes decoded; a malformed escape is kept as written (and so matches nothing). */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

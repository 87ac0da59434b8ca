/** Building the page's elements: text always as text, never as HTML. */
type Child = Node | string | number | null | undefined;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === true) element.setAttribute(name, '');
    else if (typeof value === 'string') element.setAttribute(name, value);
  }
  element.append(...children.filter((c) => c !== null && c !== undefined).map((c) => (typeof c === 'number' ? format(c) : c!)));
  return element;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no #${id}`);
  return element as T;
}

/** Numbers with the reader's digit grouping, to two decimals at most. */
export function format(value: number): string {
  return value.toLocaleString(undefined, { maximumFractionDigits: 2 });
}

/** An instant in the reader's time zone, to the second. */
export function formatInstant(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' }) : '';
}

export function setStatus(id: string, text: string, isError = false): void {
  const element = byId(id);
  element.textContent = text;
  element.classList.toggle('error', isError);
}

/** The dashboard's entry: one page, two views chosen by the URL's hash (#metrics[/year], #operations). */
import './style.css';
import { hideMetrics, showMetrics } from './metricsView';
import { hideOperations, showOperations } from './operationsView';
import { byId } from './dom';

const VIEWS = ['metrics', 'operations'] as const;

function route(): void {
  const [view, argument] = location.hash.replace(/^#/, '').split('/');
  const shown = (VIEWS as readonly string[]).includes(view) ? (view as (typeof VIEWS)[number]) : 'metrics';
  for (const name of VIEWS) {
    byId(name).hidden = name !== shown;
    const link = byId(`nav-${name}`);
    if (name === shown) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (shown === 'metrics') {
    hideOperations();
    const year = /^\d{4}$/.test(argument ?? '') ? Number(argument) : undefined;
    void showMetrics(year, (picked) => (location.hash = `#metrics/${picked}`));
  } else {
    hideMetrics();
    showOperations();
  }
}

window.addEventListener('hashchange', route);
route();

/**
 * The progress of an upload and of a load: a bar on a terminal (cli-progress); elsewhere (a log,
 * a pipe, --json) a plain line on stderr every --interval and at every change of phase.
 */
import { Option } from 'commander';
import { SingleBar } from 'cli-progress';
import type { Run } from './api';
import { formatBytes, formatCount } from './output';
import { parseSeconds } from './parse';
import { countsText } from './runReport';

export interface ProgressDisplay {
  upload(bytesDone: number, bytesTotal: number): void;
  load(run: Run): void;
  /** The bar stays on screen as it last was; the next phase starts on a line of its own. */
  stop(): void;
}

/** The --interval option of the commands that show progress, in milliseconds. */
export function intervalOption(): Option {
  return new Option('--interval <seconds>', 'seconds between progress lines when stderr is not a terminal, or with --json')
    .default(5000, '5')
    .argParser(parseSeconds);
}

export function progressDisplay(tty: boolean, intervalMs: number): ProgressDisplay {
  return tty ? new BarDisplay() : new LineDisplay(intervalMs);
}

/** What both displays show of a load. */
function loadFigures(run: Run) {
  return {
    status: run.status,
    percent: run.percent ?? 0,
    done: formatBytes(run.bytesDone ?? 0),
    size: formatBytes(run.bytesTotal ?? 0),
    rate: formatCount(run.rowsPerSecond ?? 0),
    timeLeft: run.etaSeconds === null || run.etaSeconds === undefined ? '-' : `${run.etaSeconds} s`,
  };
}

const UPLOAD_BAR = 'upload {bar} {percentage}% | {done} of {size} | ETA {eta_formatted}';
const LOAD_BAR = 'load   {bar} {percentage}% | {done} of {size} | {rate} rows/s | ETA {timeLeft} | {status}';

class BarDisplay implements ProgressDisplay {
  private bar: SingleBar | undefined;
  private phase: 'upload' | 'load' | undefined;

  upload(bytesDone: number, bytesTotal: number): void {
    this.show('upload', UPLOAD_BAR, bytesDone, bytesTotal, { done: formatBytes(bytesDone), size: formatBytes(bytesTotal) });
  }

  load(run: Run): void {
    this.show('load', LOAD_BAR, run.bytesDone ?? 0, run.bytesTotal ?? 0, loadFigures(run));
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }

  private show(phase: 'upload' | 'load', format: string, value: number, total: number, payload: object): void {
    if (!this.bar || this.phase !== phase) {
      this.stop();
      this.phase = phase;
      this.bar = new SingleBar({ format, stream: process.stderr, hideCursor: true, barsize: 30, emptyOnZero: true });
      this.bar.start(total, value, payload);
      return;
    }
    this.bar.setTotal(total);
    this.bar.update(value, payload);
  }
}

class LineDisplay implements ProgressDisplay {
  private phase = '';
  private printedAt = 0;

  constructor(private readonly intervalMs: number) {}

  upload(bytesDone: number, bytesTotal: number): void {
    const percent = bytesTotal ? Math.floor((bytesDone / bytesTotal) * 100) : 100;
    // The upload's end is a phase of its own: its last line is always printed.
    this.print(
      bytesDone === bytesTotal ? 'uploaded' : 'upload',
      `upload: ${percent}% (${formatBytes(bytesDone)} of ${formatBytes(bytesTotal)})`,
    );
  }

  load(run: Run): void {
    const figures = loadFigures(run);
    this.print(
      `load ${run.status}`,
      `load ${run.runId}: ${figures.status} ${figures.percent}% (${figures.done} of ${figures.size}), ${figures.rate} rows/s, ETA ${figures.timeLeft}; ${countsText(run)}`,
    );
  }

  stop(): void {}

  private print(phase: string, line: string): void {
    const now = Date.now();
    if (phase === this.phase && now - this.printedAt < this.intervalMs) return;
    this.phase = phase;
    this.printedAt = now;
    process.stderr.write(`${line}\n`);
  }
}

import fs from 'node:fs';
import path from 'node:path';
import { postFile, type ApiResponse } from './localHost';

/** The customer's files, beside the project; tests that use them are skipped when they are absent. */
export const CHALLENGE_DIR = path.resolve(__dirname, '../../../shared/data/challenge');
export const hasChallengeFiles = fs.existsSync(path.join(CHALLENGE_DIR, 'hired_employees.csv'));

/** Streams one of the customer's files to POST /load. */
export function loadChallengeFile(url: string, table: string): Promise<ApiResponse> {
  return postFile(url, `/api/tables/${table}/load`, path.join(CHALLENGE_DIR, `${table}.csv`));
}

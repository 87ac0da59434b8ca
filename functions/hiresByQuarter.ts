import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { DEFAULT_YEAR, HIRES_BY_QUARTER_COLUMNS, MAX_YEAR, MIN_YEAR } from '../shared/metrics';
import { getServices } from '../shared/services';
import { csvResponse, jsonErrors, jsonText, queryInt, responseFormat } from './lib/http';

/**
 * GET /api/metrics/hires-by-quarter?year=2021[&format=json|csv] — hires per department and job in
 * the year, by quarter: `{"year":2021,"rows":[{"department","job","Q1","Q2","Q3","Q4"}]}`, or CSV
 * with a header row (`?format=csv` or `Accept: text/csv`).
 */
export async function hiresByQuarter(request: HttpRequest): Promise<HttpResponseInit> {
  const year = queryInt(request, 'year', { min: MIN_YEAR, max: MAX_YEAR, default: DEFAULT_YEAR });
  const format = responseFormat(request);
  const { db } = await getServices();
  if (format === 'csv') return csvResponse(`hires-by-quarter-${year}.csv`, HIRES_BY_QUARTER_COLUMNS, await db.hiresByQuarter(year));
  // The rows' JSON as the database wrote it, not parsed and written again; the year is a checked integer.
  return jsonText(`{"year":${year},"rows":${await db.hiresByQuarterJson(year)}}`);
}

app.http('hiresByQuarter', {
  methods: ['GET'],
  route: 'metrics/hires-by-quarter',
  authLevel: 'function',
  handler: jsonErrors(hiresByQuarter, ['year', 'format']),
});

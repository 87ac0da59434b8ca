import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { DEFAULT_YEAR, DEPARTMENTS_ABOVE_MEAN_COLUMNS, MAX_YEAR, MIN_YEAR } from '../shared/metrics';
import { getServices } from '../shared/services';
import { csvResponse, json, jsonErrors, queryInt, responseFormat } from './lib/http';

/**
 * GET /api/metrics/departments-above-mean?year=2021[&format=json|csv] — the departments that hired
 * more than the mean of all departments in the year (departments without hires count as 0):
 * `{"year":2021,"hires","departments","mean","rows":[{"id","department","hired"}]}`, by hired
 * descending then id, or the rows as CSV with a header row (`?format=csv` or `Accept: text/csv`).
 */
export async function departmentsAboveMean(request: HttpRequest): Promise<HttpResponseInit> {
  const year = queryInt(request, 'year', { min: MIN_YEAR, max: MAX_YEAR, default: DEFAULT_YEAR });
  const format = responseFormat(request);
  const { db } = await getServices();
  const answer = await db.departmentsAboveMean(year);
  if (format === 'csv') return csvResponse(`departments-above-mean-${year}.csv`, DEPARTMENTS_ABOVE_MEAN_COLUMNS, answer.rows);
  return json({ year, ...answer });
}

app.http('departmentsAboveMean', {
  methods: ['GET'],
  route: 'metrics/departments-above-mean',
  authLevel: 'function',
  handler: jsonErrors(departmentsAboveMean, ['year', 'format']),
});

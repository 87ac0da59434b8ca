/**
 * The OpenAPI 3.1 description of every route, built from the table definitions and the rules'
 * limits, so that a column or a limit cannot drift from what the service does. Served at
 * GET /api/openapi.json; the HTTP tests validate every response against it.
 */
import { MAX_BATCH_ROWS } from '../../shared/ingest/insertBatch';
import { DESCRIBED_RUN_STATUSES } from '../../shared/ingest/runs';
import { DEFAULT_YEAR, MAX_YEAR, MIN_YEAR } from '../../shared/metrics';
import { MAX_ID, MAX_TEXT_LENGTH } from '../../shared/rules';
import { TABLES, type ColumnDef, type TableDef } from '../../shared/tables';

type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const nullable = (schema: Schema): Schema => ({ oneOf: [schema, { type: 'null' }] });
const integer: Schema = { type: 'integer', minimum: 0 };
const string: Schema = { type: 'string' };
const instant: Schema = { type: 'string', format: 'date-time' };
const RUN_STATUSES = [...DESCRIBED_RUN_STATUSES];

function object(properties: Record<string, Schema>, required: readonly string[] = Object.keys(properties)): Schema {
  return { type: 'object', properties, required };
}

function columnSchema(column: ColumnDef): Schema {
  switch (column.type) {
    case 'id':
      return { type: 'integer', minimum: 1, maximum: MAX_ID };
    case 'text':
      return { type: 'string', minLength: 1, maxLength: MAX_TEXT_LENGTH };
    case 'datetime':
      return instant;
  }
}

/** A row of `table` as the service returns and accepts it: every column, datetimes as ISO 8601 text. */
function rowSchema(table: TableDef): Schema {
  return { ...object(Object.fromEntries(table.columns.map((c) => [c.name, columnSchema(c)]))), additionalProperties: false };
}

const rowName = (table: TableDef) => `${table.name}_row`;
/** A row of whichever table the path names. */
const anyRow: Schema = { oneOf: TABLES.map((t) => ref(rowName(t))) };
const tableParameter = { name: 'table', in: 'path', required: true, schema: { enum: TABLES.map((t) => t.name) } };
const runIdParameter = { name: 'runId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
const query = (name: string, schema: Schema, description?: string) => ({ name, in: 'query', required: false, schema, description });
const yearQuery = query('year', { type: 'integer', minimum: MIN_YEAR, maximum: MAX_YEAR, default: DEFAULT_YEAR });
const formatQuery = query('format', { enum: ['json', 'csv'] }, 'csv answers text/csv with a header row (or send Accept: text/csv)');
const idempotencyHeader = { name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 200 } };

const json = (schema: Schema, description = 'OK') => ({ description, content: { 'application/json': { schema } } });
const csv = { 'text/csv': { schema: { type: 'string' } } };
const errors = { default: json(ref('Error'), 'An error: 4xx for a request to correct, 5xx for the service') };

const SCHEMAS: Record<string, Schema> = {
  ...Object.fromEntries(TABLES.map((t) => [rowName(t), rowSchema(t)])),
  Error: object({
    error: { ...object({ code: string, message: string }), description: 'code is stable, for programs; message is for people' },
  }),
  Reason: object({ field: nullable(string), message: string }),
  ReasonCount: object({ reason: string, rows: integer }),
  Counts: object(
    {
      runId: { type: 'string', format: 'uuid' },
      table: { enum: TABLES.map((t) => t.name) },
      received: integer,
      inserted: integer,
      skipped: integer,
      rejected: integer,
      reasons: { type: 'array', items: ref('ReasonCount') },
      warning: string,
    },
    ['runId', 'table', 'received', 'inserted', 'skipped', 'rejected', 'reasons'],
  ),
  BatchResult: {
    allOf: [
      ref('Counts'),
      object({
        rejections: { type: 'array', items: object({ position: integer, reasons: { type: 'array', items: ref('Reason') }, data: {} }) },
      }),
    ],
  },
  LoadResult: { allOf: [ref('Counts'), object({ dryRun: { type: 'boolean' }, status: { enum: RUN_STATUSES } })] },
  Run: object(
    {
      runId: { type: 'string', format: 'uuid' },
      table: string,
      kind: { enum: ['load', 'batch', 'restore'] },
      source: string,
      dryRun: { type: 'boolean' },
      status: { enum: RUN_STATUSES },
      startedAt: instant,
      finishedAt: nullable(instant),
      lastActivityAt: instant,
      received: integer,
      inserted: integer,
      skipped: integer,
      rejected: integer,
      error: nullable(string),
      bytesTotal: nullable(integer),
      bytesDone: nullable(integer),
      percent: nullable({ type: 'number', minimum: 0, maximum: 100 }),
      line: nullable(integer),
      rowsPerSecond: integer,
      etaSeconds: nullable(integer),
      attempts: integer,
      updatedAt: instant,
      warning: string,
      reasons: { type: 'array', items: ref('ReasonCount') },
      detail: {},
    },
    [
      'runId',
      'table',
      'kind',
      'source',
      'dryRun',
      'status',
      'startedAt',
      'finishedAt',
      'received',
      'inserted',
      'skipped',
      'rejected',
      'error',
    ],
  ),
  Rejection: object(
    {
      id: integer,
      runId: { type: 'string', format: 'uuid' },
      table: string,
      position: integer,
      rawText: string,
      format: { enum: ['csv', 'json'] },
      reasons: { type: 'array', items: ref('Reason') },
      createdAt: instant,
    },
    ['id', 'runId', 'table', 'position', 'rawText', 'format', 'reasons', 'createdAt'],
  ),
  Backup: object({
    table: string,
    backup: string,
    rows: integer,
    bytes: integer,
    sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    createdAt: instant,
    kind: string,
    set: nullable(string),
  }),
  BackupSet: object({ set: string, kind: string, createdAt: instant, tables: { type: 'array', items: ref('Backup') } }),
  Health: object({ status: { enum: ['ok', 'unavailable'] } }),
};

/** A restore: admin key, the backup or set named in the body (the newest by default), a safety backup first. */
function restoreOperation(operationId: string, what: string, named: string, answers: string[]) {
  return {
    operationId,
    description: `Admin key. Replaces ${what} in one transaction, after a safety backup.`,
    parameters: [idempotencyHeader],
    requestBody: {
      required: true,
      content: { 'application/json': { schema: object({ [named]: string, safety: { type: 'boolean' } }, []) } },
    },
    responses: { 200: json({ type: 'object', required: answers }), ...errors },
  };
}

const PATHS = {
  '/tables': { get: { operationId: 'listTables', responses: { 200: json(object({ tables: { type: 'array', items: {} } })), ...errors } } },
  '/tables/{table}/rows': {
    parameters: [tableParameter],
    get: {
      operationId: 'listRows',
      parameters: [query('afterId', integer), query('limit', { type: 'integer', minimum: 1, maximum: 1000, default: 100 })],
      responses: {
        200: json(object({ table: string, rows: { type: 'array', items: anyRow }, nextAfterId: nullable(integer) })),
        ...errors,
      },
    },
    post: {
      operationId: 'insertRows',
      description: `A batch of 1 to ${MAX_BATCH_ROWS} rows, all or nothing per row: rows breaking a rule are rejected and kept with their reasons.`,
      requestBody: {
        required: true,
        content: Object.fromEntries([
          ['application/json', { schema: { type: 'array', minItems: 1, maxItems: MAX_BATCH_ROWS, items: anyRow } }],
          ['text/csv', { schema: { type: 'string' } }],
        ]),
      },
      responses: { 200: json(ref('BatchResult')), ...errors },
    },
  },
  '/tables/{table}/load': {
    parameters: [tableParameter],
    post: {
      operationId: 'loadTable',
      description:
        'A text/csv body is loaded at once (200, the counts); {"blob": "<path>"} loads a file of the historic container asynchronously (202 with the run, Location: /api/runs/{id}; 200 for a repeat of a pending load).',
      parameters: [query('dryRun', { type: 'boolean' }), idempotencyHeader],
      requestBody: {
        required: true,
        content: { 'text/csv': { schema: { type: 'string' } }, 'application/json': { schema: object({ blob: string }) } },
      },
      responses: { 200: json({ anyOf: [ref('LoadResult'), ref('Run')] }), 202: json(ref('Run'), 'Queued'), ...errors },
    },
  },
  '/tables/{table}/backups': {
    parameters: [tableParameter],
    get: {
      operationId: 'listBackups',
      responses: { 200: json(object({ table: string, backups: { type: 'array', items: ref('Backup') } })), ...errors },
    },
    post: {
      operationId: 'backupOneTable',
      responses: { 200: json(object({ backups: { type: 'array', items: ref('Backup') } })), ...errors },
    },
  },
  '/tables/{table}/restore': {
    parameters: [tableParameter],
    post: restoreOperation('restoreTable', 'the table with a backup', 'backup', ['table', 'rows']),
  },
  '/backups': {
    get: {
      operationId: 'listBackupSets',
      responses: { 200: json(object({ sets: { type: 'array', items: ref('BackupSet') } })), ...errors },
    },
    post: { operationId: 'backupTables', responses: { 200: json(ref('BackupSet')), ...errors } },
  },
  '/restore': {
    post: restoreOperation('restoreSet', 'every table with a backup set', 'set', ['set', 'tables']),
  },
  '/runs': {
    get: {
      operationId: 'listRuns',
      parameters: [
        query('table', { enum: TABLES.map((t) => t.name) }),
        query('kind', { enum: ['load', 'batch', 'restore'] }),
        query('status', { enum: RUN_STATUSES }),
        query('after', string, 'the nextAfter of the previous page'),
        query('limit', { type: 'integer', minimum: 1, maximum: 1000 }),
      ],
      responses: { 200: json(object({ runs: { type: 'array', items: ref('Run') }, nextAfter: nullable(string) })), ...errors },
    },
  },
  '/runs/{runId}': {
    parameters: [runIdParameter],
    get: { operationId: 'getRun', responses: { 200: json(ref('Run')), ...errors } },
    delete: {
      operationId: 'cancelRun',
      description: 'Admin key. Cancels a queued or running load: 200 once cancelled, 202 while its worker stops.',
      responses: { 200: json(ref('Run')), 202: json(ref('Run'), 'Cancelling'), ...errors },
    },
  },
  '/runs/{runId}/resume': {
    parameters: [runIdParameter],
    post: {
      operationId: 'resumeRun',
      description: 'Admin key.',
      responses: { 200: json(ref('Run')), 202: json(ref('Run'), 'Queued'), ...errors },
    },
  },
  '/rejections': {
    get: {
      operationId: 'listRejections',
      parameters: [
        query('table', { enum: TABLES.map((t) => t.name) }),
        query('runId', { type: 'string', format: 'uuid' }),
        query('afterId', integer),
        query('limit', { type: 'integer', minimum: 1 }),
        query('open', { type: 'boolean' }),
        query('history', { type: 'boolean' }),
        formatQuery,
      ],
      responses: {
        200: {
          description: 'OK',
          content: {
            'application/json': {
              schema: object({ rejections: { type: 'array', items: ref('Rejection') }, nextAfterId: nullable(integer) }),
            },
            ...csv,
          },
        },
        ...errors,
      },
    },
  },
  '/metrics/hires-by-quarter': {
    get: {
      operationId: 'hiresByQuarter',
      parameters: [yearQuery, formatQuery],
      responses: {
        200: {
          description: 'Hires per department and job in the year, by quarter of the hire (UTC)',
          content: {
            'application/json': {
              schema: object({
                year: integer,
                rows: {
                  type: 'array',
                  items: object({ department: string, job: string, Q1: integer, Q2: integer, Q3: integer, Q4: integer }),
                },
              }),
            },
            ...csv,
          },
        },
        ...errors,
      },
    },
  },
  '/metrics/departments-above-mean': {
    get: {
      operationId: 'departmentsAboveMean',
      parameters: [yearQuery, formatQuery],
      responses: {
        200: {
          description: "Departments that hired more than the mean of every department's hires in the year",
          content: {
            'application/json': {
              schema: object({
                year: integer,
                hires: { ...integer, description: "the year's hires" },
                departments: { ...integer, description: 'every department, with or without hires' },
                mean: { type: 'number', minimum: 0, description: 'hires / departments; 0 without departments' },
                rows: { type: 'array', items: object({ id: { type: 'integer', minimum: 1 }, department: string, hired: integer }) },
              }),
            },
            ...csv,
          },
        },
        ...errors,
      },
    },
  },
  '/metrics/years': {
    get: {
      operationId: 'hireYears',
      responses: {
        200: json(
          object({ years: { type: 'array', items: object({ year: integer, hired: { ...integer, minimum: 1 } }) } }),
          'The years that have hires (UTC), in order, with their number of hires',
        ),
        ...errors,
      },
    },
  },
  '/health': {
    get: {
      operationId: 'health',
      security: [],
      responses: { 200: json(ref('Health')), 503: json(ref('Health'), 'Unavailable'), ...errors },
    },
  },
  '/health/details': {
    get: {
      operationId: 'healthDetails',
      responses: {
        200: json({ allOf: [ref('Health')], required: ['database', 'storage'] }),
        503: json(ref('Health'), 'Unavailable'),
        ...errors,
      },
    },
  },
  '/dashboard': {
    get: {
      operationId: 'dashboard',
      description: 'The dashboard and console, one page; open it with ?code=<function key> on Azure, which the page passes on.',
      responses: { 200: { description: 'The page', content: { 'text/html': { schema: string } } }, ...errors },
    },
  },
  '/dashboard/{asset}': {
    parameters: [{ name: 'asset', in: 'path', required: true, schema: string }],
    get: {
      operationId: 'dashboardAsset',
      description: "The page's script and stylesheet, named by their content's hash.",
      responses: {
        200: {
          description: 'The file',
          content: { 'text/javascript': { schema: string }, 'text/css': { schema: string }, 'text/html': { schema: string } },
        },
        ...errors,
      },
    },
  },
  '/openapi.json': {
    get: { operationId: 'openApi', responses: { 200: json({ type: 'object', required: ['openapi', 'paths'] }), ...errors } },
  },
};

/** The document, the same at every call. */
export const OPENAPI_DOCUMENT = {
  openapi: '3.1.0',
  info: {
    title: 'CSV to Azure SQL',
    version: '0.1.0',
    description:
      'Loads CSV exports into the departments, jobs and hired_employees tables, with validation, rejected rows, backups and metrics.',
  },
  servers: [{ url: '/api' }],
  security: [{ functionKey: [] }],
  components: {
    securitySchemes: {
      functionKey: {
        type: 'apiKey',
        in: 'header',
        name: 'x-functions-key',
        description: 'A function key; admin routes need the admin key',
      },
    },
    schemas: SCHEMAS,
  },
  paths: PATHS,
};

/**
 * Test helpers for backups: read and write the backups container of an Azurite directly, decode
 * and encode Avro object container files with avsc (independently of the product's code), and an
 * optional second, independent reader: Apache Avro's Python package (Debian's python3-avro).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import avro from 'avsc';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { expect } from 'vitest';
import { allRows, get, postJson, request, type ApiResponse } from './localHost';

export const TABLE_NAMES = ['departments', 'jobs', 'hired_employees'] as const;
export type TableName = (typeof TABLE_NAMES)[number];

/** The blob name pattern of the spec: `<table>/<table>-<UTC yyyyMMddTHHmmssSSSZ>.avro`. */
export function backupNamePattern(table: string): RegExp {
  return new RegExp(`^${table}/${table}-\\d{8}T\\d{9}Z\\.avro$`);
}

/** A well-formed backup name of `table` for the instant `at` (for names that do not exist yet). */
export function nameFor(table: string, at: Date): string {
  return `${table}/${table}-${at.toISOString().replace(/[-:.]/g, '')}.avro`;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function container(connectionString: string, name = 'backups'): ContainerClient {
  return BlobServiceClient.fromConnectionString(connectionString).getContainerClient(name);
}

export async function downloadBlob(c: ContainerClient, name: string): Promise<{ bytes: Buffer; metadata: Record<string, string> }> {
  const blob = c.getBlobClient(name);
  const bytes = await blob.downloadToBuffer();
  const props = await blob.getProperties();
  return { bytes, metadata: props.metadata ?? {} };
}

export async function uploadBlob(c: ContainerClient, name: string, bytes: Buffer, metadata: Record<string, string>): Promise<void> {
  await c.createIfNotExists();
  await c.getBlockBlobClient(name).uploadData(bytes, { metadata, blobHTTPHeaders: { blobContentType: 'application/avro' } });
}

export async function listBlobNames(c: ContainerClient, prefix?: string): Promise<string[]> {
  const names: string[] = [];
  for await (const item of c.listBlobsFlat(prefix ? { prefix } : {})) names.push(item.name);
  return names.sort();
}

export interface DecodedAvro {
  /** The writer schema as written in the header (JSON). */
  readonly schema: any;
  readonly codec: string;
  /** Header metadata other than avro.*, as text. */
  readonly meta: Record<string, string>;
  readonly records: Record<string, unknown>[];
}

/** Decodes an Avro object container file with avsc; timestamp-millis fields come back as numbers (epoch ms). */
export async function decodeAvro(bytes: Buffer): Promise<DecodedAvro> {
  const decoder = new avro.streams.BlockDecoder();
  let header: { schema: any; codec: string; meta: Record<string, string> } | undefined;
  decoder.once('metadata', (_type: unknown, codec: string, fileHeader: { meta: Record<string, Buffer> }) => {
    const meta: Record<string, string> = {};
    for (const [k, v] of Object.entries(fileHeader.meta)) if (!k.startsWith('avro.')) meta[k] = v.toString('utf8');
    header = { schema: JSON.parse(fileHeader.meta['avro.schema'].toString('utf8')), codec, meta };
  });
  const records: Record<string, unknown>[] = [];
  Readable.from([bytes]).pipe(decoder);
  for await (const record of decoder) records.push({ ...(record as object) });
  if (!header) throw new Error('no Avro header');
  return { ...header, records };
}

/** Encodes records into an Avro object container file with avsc (deflate, like the product's). */
export async function encodeAvro(schema: object, records: object[], metadata: Record<string, string> = {}): Promise<Buffer> {
  const encoder = new avro.streams.BlockEncoder(
    schema as avro.Schema,
    {
      codec: 'deflate',
      writeHeader: 'always',
      metadata: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, Buffer.from(v)])),
    } as any,
  );
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    encoder.on('data', (c: Buffer) => chunks.push(c));
    encoder.on('end', () => resolve());
    encoder.on('error', reject);
  });
  for (const r of records) encoder.write(r);
  encoder.end();
  await done;
  return Buffer.concat(chunks);
}

/** The spec's Avro schema of each table. */
export const SCHEMAS: Record<TableName, { type: 'record'; name: string; fields: { name: string; type: unknown }[] }> = {
  departments: {
    type: 'record',
    name: 'departments',
    fields: [
      { name: 'id', type: 'int' },
      { name: 'department', type: 'string' },
    ],
  },
  jobs: {
    type: 'record',
    name: 'jobs',
    fields: [
      { name: 'id', type: 'int' },
      { name: 'job', type: 'string' },
    ],
  },
  hired_employees: {
    type: 'record',
    name: 'hired_employees',
    fields: [
      { name: 'id', type: 'int' },
      { name: 'name', type: 'string' },
      { name: 'datetime', type: { type: 'long', logicalType: 'timestamp-millis' } },
      { name: 'department_id', type: 'int' },
      { name: 'job_id', type: 'int' },
    ],
  },
};

/** An API row (datetimes as ISO text) as the Avro record the spec prescribes (datetimes as epoch ms). */
export function toAvroRecord(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...row };
  if (typeof out.datetime === 'string') out.datetime = Date.parse(out.datetime);
  return out;
}

/** A decoded Avro record as the API row (datetimes as ISO text with milliseconds). */
export function fromAvroRecord(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...record };
  if (typeof out.datetime === 'number') out.datetime = new Date(out.datetime).toISOString();
  return out;
}

/** Uploads a hand-made backup under a valid name, with correct `rows`, `sha256` and `createdat` metadata. */
export async function uploadOwnBackup(
  c: ContainerClient,
  table: string,
  schema: object,
  records: object[],
  at: Date,
): Promise<{ name: string; bytes: Buffer }> {
  const createdAt = at.toISOString();
  const bytes = await encodeAvro(schema, records, { table, createdAt });
  const name = nameFor(table, at);
  await uploadBlob(c, name, bytes, { table, rows: String(records.length), sha256: sha256(bytes), createdat: createdAt });
  return { name, bytes };
}

// ---------------------------------------------------------------------------------------------
// API shorthands

/** POST /api/backups: a set of every table; its files. */
export async function backupAll(base: string): Promise<any[]> {
  const res = await request(`${base}/api/backups`, { method: 'POST', headers: { 'content-type': 'application/json' } });
  expect(res.status, res.text).toBe(200);
  expect(res.body).toMatchObject({ set: expect.stringMatching(/^\d{8}T\d{9}Z$/), kind: 'backup' });
  return res.body.tables;
}

export async function backupOne(base: string, table: string): Promise<any> {
  const res = await request(`${base}/api/tables/${table}/backups`, { method: 'POST', headers: { 'content-type': 'application/json' } });
  expect(res.status, res.text).toBe(200);
  expect(res.body.backups).toHaveLength(1);
  return res.body.backups[0];
}

export async function listBackups(base: string, table: string): Promise<any[]> {
  const res = await get(base, `/api/tables/${table}/backups`);
  expect(res.status, res.text).toBe(200);
  expect(res.body.table).toBe(table);
  return res.body.backups;
}

/** POST /restore with a JSON body (an object), or the raw text given (e.g. '' for an empty body). */
export function restore(base: string, table: string, body: object | string): Promise<ApiResponse> {
  if (typeof body === 'string') {
    return request(`${base}/api/tables/${table}/restore`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      ...(body === '' ? {} : { body }),
    });
  }
  return postJson(base, `/api/tables/${table}/restore`, body);
}

/** Every table's full contents. */
export async function snapshot(base: string): Promise<Record<TableName, Record<string, unknown>[]>> {
  const out = {} as Record<TableName, Record<string, unknown>[]>;
  for (const t of TABLE_NAMES) out[t] = await allRows(base, t);
  return out;
}

export function expectErrorCode(res: ApiResponse, status: number, code: string): void {
  expect(res.status, res.text).toBe(status);
  expect(res.body?.error?.code, res.text).toBe(code);
  expect(typeof res.body.error.message).toBe('string');
}

// ---------------------------------------------------------------------------------------------
// Python (Apache Avro) as an independent reader

export const PYTHON = '/usr/bin/python3';

export const hasPythonAvro: boolean = (() => {
  try {
    return spawnSync(PYTHON, ['-c', 'import avro.datafile, avro.io'], { stdio: 'ignore', timeout: 20_000 }).status === 0;
  } catch {
    return false;
  }
})();

const PY_READER = `
import datetime, json, sys
import avro.datafile, avro.io

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)

def plain(value):
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return {"$ms": (value - EPOCH) // datetime.timedelta(milliseconds=1)}
    return value

with open(sys.argv[1], "rb") as f:
    reader = avro.datafile.DataFileReader(f, avro.io.DatumReader())
    meta = {k: v.decode("utf-8") for k, v in reader.meta.items()}
    records = [{k: plain(v) for k, v in r.items()} for r in reader]
    reader.close()
print(json.dumps({"meta": meta, "records": records}))
`;

/** Reads an Avro file with Apache Avro's Python package: its header metadata and records. */
export function readWithPython(file: string, workDir: string): { meta: Record<string, string>; records: Record<string, unknown>[] } {
  const script = path.join(workDir, 'read_avro.py');
  fs.writeFileSync(script, PY_READER);
  const result = spawnSync(PYTHON, [script, file], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: 30_000 });
  if (result.status !== 0) throw new Error(`python avro reader failed (${result.status}): ${result.stderr}`);
  return JSON.parse(result.stdout);
}

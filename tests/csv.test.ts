import { describe, expect, it } from 'vitest';
import {
  MAX_RECORD_CHARS,
  parseCsvBytes,
  readCsv,
  readCsvFrom,
  START_OF_FILE,
  type CsvChunk,
  type CsvRecord,
  type ReadCsvOptions,
} from '../shared/csv';
import { fixLine } from '../shared/ingest/fixFormat';

const parseCsvText = (text: string, options?: ReadCsvOptions) =>
  parseCsvBytes(Buffer.from(text, 'utf8'), options ?? {}, Infinity).map(plain);
import { allOf, batchesOf, bytes, chunks, everyN, splitAt } from './helpers/byteStreams';

const DEPT_HEADER = ['id', 'department'];
const HIRED_HEADER = ['id', 'name', 'datetime', 'department_id', 'job_id'];

/** A record as plain data: the reader may compute `raw` lazily, behind a getter. */
function plain(record: CsvRecord): CsvRecord {
  const { line, fields, raw, malformed } = record;
  return malformed === undefined ? { line, fields, raw } : { line, fields, raw, malformed };
}

/** Reads `data` (one chunk, or the given chunks) and returns every record. */
async function read(data: Uint8Array | Uint8Array[], options?: ReadCsvOptions): Promise<CsvRecord[]> {
  return (await allOf(readCsv(chunks(Array.isArray(data) ? data : [data]), options))).map(plain);
}

async function readText(text: string, options?: ReadCsvOptions): Promise<CsvRecord[]> {
  return read(bytes(text), options);
}

function rec(line: number, fields: string[], raw: string): CsvRecord {
  return { line, fields, raw };
}

/** Reads the data as one chunk, one byte at a time, and split at every offset into 2 and 3 chunks: all must agree. */
async function expectChunkingInvariant(data: Uint8Array, options?: ReadCsvOptions): Promise<CsvRecord[]> {
  const whole = await read(data, options);
  expect(await read(everyN(data, 1), options)).toEqual(whole);
  for (let i = 0; i <= data.length; i++) {
    expect(await read(splitAt(data, i), options), `split at ${i}`).toEqual(whole);
  }
  for (let i = 1; i < data.length; i += 3) {
    for (let j = i; j < data.length; j += 5) {
      expect(await read(splitAt(data, i, j), options), `split at ${i},${j}`).toEqual(whole);
    }
  }
  return whole;
}

describe('readCsv: basics', () => {
  it('reads LF lines with 1-based line numbers, fields and raw text', async () => {
    expect(await readText('1,Sales\n2,Research\n3,Ops\n')).toEqual([
      rec(1, ['1', 'Sales'], '1,Sales'),
      rec(2, ['2', 'Research'], '2,Research'),
      rec(3, ['3', 'Ops'], '3,Ops'),
    ]);
  });

  it('reads CRLF lines: no CR in fields or raw text', async () => {
    expect(await readText('1,Sales\r\n2,Research\r\n')).toEqual([
      rec(1, ['1', 'Sales'], '1,Sales'),
      rec(2, ['2', 'Research'], '2,Research'),
    ]);
  });

  it('reads files mixing CRLF and LF', async () => {
    expect(await readText('1,a\r\n2,b\n3,c\r\n4,d\n')).toEqual([
      rec(1, ['1', 'a'], '1,a'),
      rec(2, ['2', 'b'], '2,b'),
      rec(3, ['3', 'c'], '3,c'),
      rec(4, ['4', 'd'], '4,d'),
    ]);
  });

  it('reads a final line without a line ending', async () => {
    expect(await readText('1,a\n2,b')).toEqual([rec(1, ['1', 'a'], '1,a'), rec(2, ['2', 'b'], '2,b')]);
    expect(await readText('1,a\r\n2,"b"')).toEqual([rec(1, ['1', 'a'], '1,a'), rec(2, ['2', 'b'], '2,"b"')]);
  });

  it('reads a single line without a line ending', async () => {
    expect(await readText('7,x')).toEqual([rec(1, ['7', 'x'], '7,x')]);
  });

  it('keeps fields untrimmed and empty fields empty', async () => {
    expect(await readText(' 1 , a b ,\n,,\n')).toEqual([rec(1, [' 1 ', ' a b ', ''], ' 1 , a b ,'), rec(2, ['', '', ''], ',,')]);
  });

  it('returns rows with any number of fields (the count is checked by the rules)', async () => {
    expect(await readText('1\n1,a,b,c\n')).toEqual([rec(1, ['1'], '1'), rec(2, ['1', 'a', 'b', 'c'], '1,a,b,c')]);
  });

  it('reads nothing from an empty stream', async () => {
    expect(await batchesOf(readCsv(chunks([])))).toEqual([]);
    expect(await batchesOf(readCsv(chunks([new Uint8Array(0), new Uint8Array(0)])))).toEqual([]);
  });

  it('yields records in non-empty arrays, one batch per input chunk', async () => {
    const data = bytes('1,a\n2,b\n3,c\n4,d\n');
    const batches = await batchesOf(readCsv(chunks(splitAt(data, 8))));
    expect(batches.map((batch) => batch.map(plain))).toEqual([
      [rec(1, ['1', 'a'], '1,a'), rec(2, ['2', 'b'], '2,b')],
      [rec(3, ['3', 'c'], '3,c'), rec(4, ['4', 'd'], '4,d')],
    ]);
    const oneByOne = await batchesOf(readCsv(chunks(everyN(data, 1))));
    expect(oneByOne.every((b) => b.length > 0)).toBe(true);
    expect(oneByOne.flat()).toHaveLength(4);
  });

  it('does not mark ordinary records as malformed', async () => {
    const records = await readText('1,a\n2,"b,c"\n');
    expect(records.every((r) => !('malformed' in r) || r.malformed === undefined)).toBe(true);
  });
});

describe('readCsv: RFC 4180 quoting', () => {
  it('unquotes fields and unescapes "" while keeping raw text exactly', async () => {
    expect(await readText('"1","Sales, ""East"""\n2,"a,b"\n')).toEqual([
      rec(1, ['1', 'Sales, "East"'], '"1","Sales, ""East"""'),
      rec(2, ['2', 'a,b'], '2,"a,b"'),
    ]);
  });

  it('reads an empty quoted field', async () => {
    expect(await readText('1,""\r\n2,""\n')).toEqual([rec(1, ['1', ''], '1,""'), rec(2, ['2', ''], '2,""')]);
  });

  it('a quoted last field followed by CRLF has no CR', async () => {
    expect(await readText('1,"Sales"\r\n"2","x"\r\n')).toEqual([rec(1, ['1', 'Sales'], '1,"Sales"'), rec(2, ['2', 'x'], '"2","x"')]);
  });

  it('CRLF and LF files give the same fields, even for a last field ending in a stray quote', async () => {
    const lf = await readText('1,ab"\n2,c\n');
    const crlf = await readText('1,ab"\r\n2,c\r\n');
    expect(crlf).toEqual(lf);
    expect(crlf[0].fields).toEqual(['1', 'ab"']);
  });

  it('keeps a CR inside a quoted field', async () => {
    expect(await readText('1,"a\r"\r\n')).toEqual([rec(1, ['1', 'a\r'], '1,"a\r"')]);
  });

  it('a quoted field may hold newlines: the record keeps its first line number and the next record is numbered physically', async () => {
    expect(await readText('1,"line one\nline two\nline three"\n2,b\n3,"x\r\ny"\r\n4,d\n')).toEqual([
      rec(1, ['1', 'line one\nline two\nline three'], '1,"line one\nline two\nline three"'),
      rec(4, ['2', 'b'], '2,b'),
      rec(5, ['3', 'x\r\ny'], '3,"x\r\ny"'),
      rec(7, ['4', 'd'], '4,d'),
    ]);
  });

  it('a quoted field may hold a blank line', async () => {
    expect(await readText('1,"a\n\nb"\n2,c\n')).toEqual([rec(1, ['1', 'a\n\nb'], '1,"a\n\nb"'), rec(4, ['2', 'c'], '2,c')]);
  });

  it('a quoted field may hold only quotes', async () => {
    expect(await readText('1,""""\n')).toEqual([rec(1, ['1', '"'], '1,""""')]);
  });

  it('flags a stray quote after a closing quote as malformed, keeping the raw text from its line', async () => {
    const records = await readText('1,a\n2,"b"c\n3,d\n');
    expect(records[0]).toEqual(rec(1, ['1', 'a'], '1,a'));
    expect(records[1].line).toBe(2);
    expect(records[1].raw.startsWith('2,"b"c')).toBe(true);
    expect(records[1].malformed).toMatch(/^malformed CSV/);
  });

  it('an unterminated quote at EOF gives one malformed record holding the rest of the text', async () => {
    const records = await readText('1,a\n2,"b\n3,c\n');
    expect(records).toHaveLength(2);
    expect(records[0]).toEqual(rec(1, ['1', 'a'], '1,a'));
    expect(records[1].line).toBe(2);
    expect(records[1].raw).toBe('2,"b\n3,c');
    expect(records[1].malformed).toMatch(/^malformed CSV: .*quote/);
  });

  it('an unterminated quote on the last line without newline is malformed', async () => {
    const records = await readText('1,a\r\n2,"b');
    expect(records).toHaveLength(2);
    expect(records[1]).toMatchObject({ line: 2, raw: '2,"b' });
    expect(records[1].malformed).toMatch(/^malformed CSV/);
  });

  it('an unterminated quote is malformed however the stream is chunked', async () => {
    const data = bytes('1,a\n2,"b\n3,c\n');
    const whole = await expectChunkingInvariant(data);
    expect(whole[1].malformed).toBeDefined();
  });
});

describe('readCsv: blank lines', () => {
  it('skips blank lines but counts them in line numbers', async () => {
    expect(await readText('\n\n1,a\n\n\n2,b\n\n')).toEqual([rec(3, ['1', 'a'], '1,a'), rec(6, ['2', 'b'], '2,b')]);
  });

  it('skips CRLF blank lines', async () => {
    expect(await readText('\r\n1,a\r\n\r\n2,b\r\n\r\n')).toEqual([rec(2, ['1', 'a'], '1,a'), rec(4, ['2', 'b'], '2,b')]);
  });

  it('skips white-space-only lines', async () => {
    expect(await readText('  \n1,a\n\t \t\r\n   \r\n2,b\n \n')).toEqual([rec(2, ['1', 'a'], '1,a'), rec(5, ['2', 'b'], '2,b')]);
  });

  it('a file of only blank lines has no records', async () => {
    expect(await readText('\n\r\n  \n\t\n')).toEqual([]);
  });

  it('a line of only commas is not blank', async () => {
    expect(await readText(',\n')).toEqual([rec(1, ['', ''], ',')]);
  });
});

describe('readCsv: BOM', () => {
  it('drops a UTF-8 BOM', async () => {
    expect(await read(bytes([0xef, 0xbb, 0xbf], '1,a\n'))).toEqual([rec(1, ['1', 'a'], '1,a')]);
  });

  it('drops a BOM split across chunks', async () => {
    const data = bytes([0xef, 0xbb, 0xbf], '1,a\n');
    expect(await read(splitAt(data, 1))).toEqual([rec(1, ['1', 'a'], '1,a')]);
    expect(await read(splitAt(data, 2))).toEqual([rec(1, ['1', 'a'], '1,a')]);
    expect(await read(everyN(data, 1))).toEqual([rec(1, ['1', 'a'], '1,a')]);
  });

  it('drops a BOM before a header', async () => {
    expect(await read(bytes([0xef, 0xbb, 0xbf], 'id,department\r\n1,a\r\n'), { header: DEPT_HEADER })).toEqual([rec(2, ['1', 'a'], '1,a')]);
  });

  it('a file of only a BOM has no records', async () => {
    expect(await read(bytes([0xef, 0xbb, 0xbf]))).toEqual([]);
  });

  it('keeps a U+FEFF that is not at the start of the file', async () => {
    const records = await readText('1,a\n2,\uFEFFb\n');
    expect(records[1].fields).toEqual(['2', '\uFEFFb']);
    expect(records[1].raw).toBe('2,\uFEFFb');
  });
});

describe('readCsv: header', () => {
  it('skips a first row equal to the column names, still counting its line', async () => {
    expect(await readText('id,department\n1,a\n', { header: DEPT_HEADER })).toEqual([rec(2, ['1', 'a'], '1,a')]);
  });

  it('compares the header case-insensitively', async () => {
    expect(await readText('ID,Department\r\n1,a\r\n', { header: DEPT_HEADER })).toEqual([rec(2, ['1', 'a'], '1,a')]);
    expect(await readText('Id,NAME,DateTime,Department_ID,JOB_id\n1,a,b,c,d\n', { header: HIRED_HEADER })).toEqual([
      rec(2, ['1', 'a', 'b', 'c', 'd'], '1,a,b,c,d'),
    ]);
  });

  it('recognises a quoted header', async () => {
    expect(await readText('"id","department"\n1,a\n', { header: DEPT_HEADER })).toEqual([rec(2, ['1', 'a'], '1,a')]);
  });

  it('recognises a header whose fields have surrounding spaces', async () => {
    expect(await readText(' id , department \n1,a\n', { header: DEPT_HEADER })).toEqual([rec(2, ['1', 'a'], '1,a')]);
  });

  it('the header is the first non-blank row', async () => {
    expect(await readText('\n\nid,department\n1,a\n', { header: DEPT_HEADER })).toEqual([rec(4, ['1', 'a'], '1,a')]);
  });

  it('only the first row can be a header', async () => {
    expect(await readText('1,a\nid,department\n', { header: DEPT_HEADER })).toEqual([
      rec(1, ['1', 'a'], '1,a'),
      rec(2, ['id', 'department'], 'id,department'),
    ]);
  });

  it('a second header row after a header is data', async () => {
    expect(await readText('id,department\nid,department\n', { header: DEPT_HEADER })).toEqual([
      rec(2, ['id', 'department'], 'id,department'),
    ]);
  });

  it('a first row that differs from the column names is data', async () => {
    expect(await readText('id,dept\n', { header: DEPT_HEADER })).toEqual([rec(1, ['id', 'dept'], 'id,dept')]);
    expect(await readText('department,id\n', { header: DEPT_HEADER })).toEqual([rec(1, ['department', 'id'], 'department,id')]);
    expect(await readText('id,department,x\n', { header: DEPT_HEADER })).toEqual([rec(1, ['id', 'department', 'x'], 'id,department,x')]);
    expect(await readText('id\n', { header: DEPT_HEADER })).toEqual([rec(1, ['id'], 'id')]);
  });

  it('without the header option, a header row is data', async () => {
    expect(await readText('id,department\n1,a\n')).toEqual([rec(1, ['id', 'department'], 'id,department'), rec(2, ['1', 'a'], '1,a')]);
  });

  it('a file of only a header has no records', async () => {
    expect(await readText('id,department', { header: DEPT_HEADER })).toEqual([]);
    expect(await readText('id,department\r\n', { header: DEPT_HEADER })).toEqual([]);
  });

  it('detects the header when it arrives one byte at a time', async () => {
    expect(await read(everyN(bytes('ID,DEPARTMENT\r\n1,a\r\n'), 1), { header: DEPT_HEADER })).toEqual([rec(2, ['1', 'a'], '1,a')]);
  });
});

describe('readCsv: UTF-8', () => {
  it('decodes multi-byte characters', async () => {
    expect(await readText('1,Zoë 李 😀 €\n')).toEqual([rec(1, ['1', 'Zoë 李 😀 €'], '1,Zoë 李 😀 €')]);
  });

  it.each([
    ['é (2 bytes)', 'é'],
    ['€ (3 bytes)', '€'],
    ['😀 (4 bytes)', '😀'],
  ])('a chunk boundary inside %s does not break it', async (_label, char) => {
    const data = bytes('1,a' + char + 'b\n2,' + char + '\n');
    const prefix = Buffer.byteLength('1,a');
    const charBytes = Buffer.byteLength(char);
    for (let k = 1; k < charBytes; k++) {
      const records = await read(splitAt(data, prefix + k));
      expect(records).toEqual([rec(1, ['1', 'a' + char + 'b'], '1,a' + char + 'b'), rec(2, ['2', char], '2,' + char)]);
    }
    // and with every byte of the character in its own chunk
    expect(await read(everyN(data, 1))).toEqual([rec(1, ['1', 'a' + char + 'b'], '1,a' + char + 'b'), rec(2, ['2', char], '2,' + char)]);
  });

  it('a multi-byte character split at the very end of a line and of the stream', async () => {
    const data = bytes('1,😀');
    for (let k = 0; k <= data.length; k++) {
      expect(await read(splitAt(data, k))).toEqual([rec(1, ['1', '😀'], '1,😀')]);
    }
  });

  it('marks a row with invalid UTF-8 bytes as malformed, not the others', async () => {
    const records = await read(bytes('1,a\n2,b', [0xff], 'c\n3,d\n'));
    expect(records).toHaveLength(3);
    expect(records[0]).toEqual(rec(1, ['1', 'a'], '1,a'));
    expect(records[1].line).toBe(2);
    expect(records[1].malformed).toBe('is not valid UTF-8');
    expect(records[1].fields[0]).toBe('2');
    expect(records[2]).toEqual(rec(3, ['3', 'd'], '3,d'));
  });

  it.each([
    ['a lone continuation byte', [0x80]],
    ['a truncated 2-byte sequence', [0xc3]],
    ['a truncated 3-byte sequence', [0xe2, 0x82]],
    ['an overlong encoding', [0xc0, 0xaf]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['byte 0xFE', [0xfe]],
  ])('%s makes its row malformed', async (_label, bad) => {
    const data = bytes('1,a\n2,x', bad, 'y\n3,b\n');
    const whole = await read(data);
    expect(whole.map((r) => r.line)).toEqual([1, 2, 3]);
    expect(whole.map((r) => r.malformed)).toEqual([undefined, 'is not valid UTF-8', undefined]);
    // the same however the bytes are chunked
    expect(await read(everyN(data, 1))).toEqual(whole);
    for (let i = 0; i <= data.length; i++) expect(await read(splitAt(data, i)), `split at ${i}`).toEqual(whole);
  });

  it('an invalid byte on the first line does not stop the stream', async () => {
    const records = await read(bytes([0xff], ',a\n2,b\n'));
    expect(records.map((r) => r.malformed)).toEqual(['is not valid UTF-8', undefined]);
    expect(records[1]).toEqual(rec(2, ['2', 'b'], '2,b'));
  });

  it('a truncated multi-byte character at the end of the stream makes the last row malformed', async () => {
    const records = await read(bytes('1,a\n2,caf', [0xc3]));
    expect(records).toHaveLength(2);
    expect(records[0]).toEqual(rec(1, ['1', 'a'], '1,a'));
    expect(records[1]).toMatchObject({ line: 2, malformed: 'is not valid UTF-8' });
  });

  it('a truncated character split so its lead byte ends a chunk, followed by ASCII', async () => {
    const data = bytes('1,a', [0xe2], ',x\n2,b\n');
    const records = await read(splitAt(data, 4));
    expect(records.map((r) => r.malformed)).toEqual(['is not valid UTF-8', undefined]);
    expect(records[1]).toEqual(rec(2, ['2', 'b'], '2,b'));
  });

  it('a genuine U+FFFD character (valid UTF-8) in an otherwise valid file is not malformed', async () => {
    expect(await readText('1,a\uFFFDb\n')).toEqual([rec(1, ['1', 'a\uFFFDb'], '1,a\uFFFDb')]);
  });

  it('a genuine U+FFFD character in a row is not malformed just because another row has invalid bytes', async () => {
    // Spec: invalid bytes make *that* row malformed. Row 3 is valid UTF-8 (EF BF BD encodes U+FFFD).
    const records = await read(bytes('1,a\n2,b', [0xff], '\n3,c\uFFFD\n'));
    expect(records.map((r) => r.malformed)).toEqual([undefined, 'is not valid UTF-8', undefined]);
    expect(records[2]).toEqual(rec(3, ['3', 'c\uFFFD'], '3,c\uFFFD'));
  });
});

describe('readCsv: chunk boundaries', () => {
  it('a CRLF split between chunks', async () => {
    const data = bytes('1,a\r\n2,b\r\n');
    const records = await read(splitAt(data, 4));
    expect(records).toEqual([rec(1, ['1', 'a'], '1,a'), rec(2, ['2', 'b'], '2,b')]);
  });

  it('a CRLF after a quoted field split between chunks', async () => {
    const data = bytes('1,"a"\r\n2,"b"\r\n');
    const records = await read(splitAt(data, 6));
    expect(records).toEqual([rec(1, ['1', 'a'], '1,"a"'), rec(2, ['2', 'b'], '2,"b"')]);
  });

  it('a quoted field with a newline and an escaped quote split across chunks', async () => {
    const text = '1,"he said ""hi""\r\nthen left"\r\n2,b\r\n';
    const data = bytes(text);
    const expected = [rec(1, ['1', 'he said "hi"\r\nthen left'], '1,"he said ""hi""\r\nthen left"'), rec(3, ['2', 'b'], '2,b')];
    // split inside the escaped quote pair, between CR and LF inside the field, just after the closing quote
    for (const at of [text.indexOf('""') + 1, text.indexOf('\r\nthen') + 1, text.indexOf('left"') + 5, text.indexOf('left"') + 6]) {
      expect(await read(splitAt(data, at)), `split at ${at}`).toEqual(expected);
    }
    expect(await expectChunkingInvariant(data)).toEqual(expected);
  });

  it('one byte at a time gives the same result as one chunk for a whole small file', async () => {
    const text =
      '\uFEFFid,name,datetime,department_id,job_id\r\n' +
      '1,Zoë "Z" Ñúñez,2021-07-27T16:02:08Z,1,2\r\n' +
      '\r\n' +
      '2,"Smith, John",2021-07-27T16:02:08Z,3,4\n' +
      '3,"multi\r\nline ""quoted"" 😀",2021-07-27T16:02:08Z,5,6\r\n' +
      '   \n' +
      '4,李,2021-07-27T16:02:08Z,7,8';
    const data = bytes(text);
    const whole = await read(data, { header: HIRED_HEADER });
    expect(whole).toEqual([
      rec(2, ['1', 'Zoë "Z" Ñúñez', '2021-07-27T16:02:08Z', '1', '2'], '1,Zoë "Z" Ñúñez,2021-07-27T16:02:08Z,1,2'),
      rec(4, ['2', 'Smith, John', '2021-07-27T16:02:08Z', '3', '4'], '2,"Smith, John",2021-07-27T16:02:08Z,3,4'),
      rec(
        5,
        ['3', 'multi\r\nline "quoted" 😀', '2021-07-27T16:02:08Z', '5', '6'],
        '3,"multi\r\nline ""quoted"" 😀",2021-07-27T16:02:08Z,5,6',
      ),
      rec(8, ['4', '李', '2021-07-27T16:02:08Z', '7', '8'], '4,李,2021-07-27T16:02:08Z,7,8'),
    ]);
    expect(await read(everyN(data, 1), { header: HIRED_HEADER })).toEqual(whole);
  });

  it('every split point of a small tricky file gives the same records', async () => {
    const data = bytes([0xef, 0xbb, 0xbf], 'ID,Department\r\n\r\n"1","a,""b"""\r\n2,"x\ny"\n3,é😀\r\n');
    const whole = await expectChunkingInvariant(data, { header: DEPT_HEADER });
    expect(whole).toEqual([rec(3, ['1', 'a,"b"'], '"1","a,""b"""'), rec(4, ['2', 'x\ny'], '2,"x\ny"'), rec(6, ['3', 'é😀'], '3,é😀')]);
  });

  it('chunks of various sizes over a larger file agree', async () => {
    const lines: string[] = [];
    for (let i = 1; i <= 300; i++) {
      lines.push(i % 7 === 0 ? `${i},"quoted, ""${i}""\r\nsecond line"` : i % 11 === 0 ? '' : `${i},name ${i} é😀`);
    }
    const data = bytes(lines.join('\r\n'));
    const whole = await read(data);
    for (const size of [1, 2, 3, 5, 7, 64, 1000, 4096]) {
      expect(await read(everyN(data, size)), `chunks of ${size}`).toEqual(whole);
    }
    expect(whole).toHaveLength(300 - Math.floor(300 / 11) + Math.floor(300 / 77));
    const r14 = whole.find((r) => r.fields[0] === '14')!;
    expect(r14.fields[1]).toBe('quoted, "14"\r\nsecond line');
  });
});

describe('readCsv: line numbers', () => {
  it('counts physical lines across blank lines, multi-line fields and a header', async () => {
    const text = 'id,department\n\n1,"a\nb\nc"\r\n\r\n2,x\n3,"\n"\n4,y';
    expect((await readText(text, { header: DEPT_HEADER })).map((r) => [r.line, r.fields[0]])).toEqual([
      [3, '1'],
      [7, '2'],
      [8, '3'],
      [10, '4'],
    ]);
  });
});

describe('readCsv: over-long records', () => {
  it('exports the limit', () => {
    expect(MAX_RECORD_CHARS).toBe(1 << 20);
  });

  it('an unterminated quote running past MAX_RECORD_CHARS: that line is rejected, reading goes on at the next', async () => {
    const body = bytes('1,a\n2,"' + 'x'.repeat(MAX_RECORD_CHARS + 100) + '\n3,b\n');
    const records = await read(everyN(body, 64 * 1024));
    expect(records.map((r) => r.line)).toEqual([1, 2, 3]);
    expect(records[1].malformed).toMatch(/^record_too_long: /);
    expect(records[1].raw).toBe('2,"' + 'x'.repeat(1021));
    expect(records[2]).toEqual(rec(3, ['3', 'b'], '3,b'));
  });

  it('a line without an end, past MAX_RECORD_CHARS, is rejected and skipped to its end, holding no more than the limit', async () => {
    const body = bytes('1,a\n2,' + 'x'.repeat(3 * MAX_RECORD_CHARS) + '\n3,b\n4,c');
    const records = await read(everyN(body, 64 * 1024));
    expect(records.map((r) => [r.line, r.malformed?.slice(0, 15), r.raw.length])).toEqual([
      [1, undefined, 3],
      [2, 'record_too_long', 1024],
      [3, undefined, 3],
      [4, undefined, 3],
    ]);
  });

  it('an unclosed quote followed by a megabyte of short lines: the line is rejected, the lines after it read, quickly', async () => {
    const body = bytes('1,Sales\n2,"Marketing\n' + '1234,HR\n'.repeat(170_000));
    const started = Date.now();
    const records = await read(everyN(body, 64 * 1024));
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(records[1]).toMatchObject({ line: 2, malformed: expect.stringMatching(/^record_too_long/) });
    expect(records.length).toBeGreaterThan(150_000);
    expect(records.at(-1)).toMatchObject({ fields: ['1234', 'HR'] });
  });

  it('a quote opened and never closed on every line: rejected in two records at most per megabyte, in linear time', async () => {
    const body = bytes('1,"a\n'.repeat(220_000) + '9,end\n');
    const started = Date.now();
    const records = await read(everyN(body, 64 * 1024));
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(records.filter((r) => r.malformed?.startsWith('record_too_long')).length).toBeLessThanOrEqual(4);
  });

  it('a record that ends within one large chunk is held to the limit too', async () => {
    const records = await read(bytes('1,' + 'x'.repeat(MAX_RECORD_CHARS + 10) + '\n2,b\n'));
    expect(records.map((r) => [r.line, r.malformed?.slice(0, 15)])).toEqual([
      [1, 'record_too_long'],
      [2, undefined],
    ]);
  });

  it('a record just under the limit is read', async () => {
    const long = 'y'.repeat(MAX_RECORD_CHARS - 100);
    const records = await read(everyN(bytes('1,' + long + '\n2,b\n'), 64 * 1024));
    expect(records).toHaveLength(2);
    expect(records[0].fields[1]).toBe(long);
    expect(records[1]).toEqual(rec(2, ['2', 'b'], '2,b'));
  });

  // The limit bounds what is buffered while a record is incomplete; a record that does end is
  // returned whole, and the rules reject it (no field may exceed 255 characters).
  it('a quoted record longer than MAX_RECORD_CHARS in a single chunk is rejected, and the next read', async () => {
    const body = bytes('1,"' + 'x'.repeat(MAX_RECORD_CHARS + 10) + '"\n2,b\n');
    const records = await read(body);
    expect(records.map((r) => [r.line, r.malformed?.slice(0, 15)])).toEqual([
      [1, 'record_too_long'],
      [2, undefined],
    ]);
  });
});

describe('the fix-and-resend format (a rejections download sent back)', () => {
  it('drops the reasons column and the apostrophes that kept formulas as text; its text is the row without them', () => {
    const text = "\uFEFFid,department,rejected_because\r\n1,'=SUM(A1),department is required\r\n2,\"'-Dash, Inc\",x\r\n3,'plain,y\r\n";
    expect(parseCsvText(text, { header: DEPT_HEADER })).toEqual([
      { line: 2, fields: ['1', '=SUM(A1)'], raw: '1,=SUM(A1)' },
      { line: 3, fields: ['2', '-Dash, Inc'], raw: '2,"-Dash, Inc"' },
      { line: 4, fields: ['3', "'plain"], raw: "3,'plain" },
    ]);
  });

  it("a value's own leading apostrophe survives the round trip", () => {
    const line = fixLine(["'-Dash", "''", "'plain"], 'r');
    expect(line).toBe("''-Dash,''',''plain,r\r\n");
    const records = parseCsvText(`\uFEFFid,department,rejected_because\r\n${fixLine(['1', "'-Dash"], 'r')}`, { header: DEPT_HEADER });
    expect(records[0].fields).toEqual(['1', "'-Dash"]);
  });

  it('a file without that header is read as it is, apostrophes and all', () => {
    expect(parseCsvText("1,'=SUM(A1)\n", { header: DEPT_HEADER })).toEqual([{ line: 1, fields: ['1', "'=SUM(A1)"], raw: "1,'=SUM(A1)" }]);
  });
});

describe('parseCsvBytes', () => {
  it('reads records with lines and raw text', () => {
    expect(parseCsvText('1,a\r\n\r\n2,"b\nc"\n3,"d ""e"""')).toEqual([
      rec(1, ['1', 'a'], '1,a'),
      rec(3, ['2', 'b\nc'], '2,"b\nc"'),
      rec(5, ['3', 'd "e"'], '3,"d ""e"""'),
    ]);
  });

  it('drops a BOM and a header', () => {
    expect(parseCsvText('\uFEFFId,DEPARTMENT\n1,a\n', { header: DEPT_HEADER })).toEqual([rec(2, ['1', 'a'], '1,a')]);
  });

  it('keeps the header row without the option', () => {
    expect(parseCsvText('id,department\n1,a\n')).toEqual([rec(1, ['id', 'department'], 'id,department'), rec(2, ['1', 'a'], '1,a')]);
  });

  it('skips blank and white-space-only lines', () => {
    expect(parseCsvText('\n \n1,a\n\t\n')).toEqual([rec(3, ['1', 'a'], '1,a')]);
  });

  it('returns nothing for empty text', () => {
    expect(parseCsvText('')).toEqual([]);
    expect(parseCsvText('\uFEFF')).toEqual([]);
  });

  it('an unterminated quote gives a malformed record', () => {
    const records = parseCsvText('1,a\n2,"b\n');
    expect(records).toHaveLength(2);
    expect(records[1]).toMatchObject({ line: 2, raw: '2,"b' });
    expect(records[1].malformed).toMatch(/^malformed CSV/);
  });

  it('does not treat a U+FFFD in already-decoded text as invalid UTF-8', () => {
    expect(parseCsvText('1,\uFFFD\n')).toEqual([rec(1, ['1', '\uFFFD'], '1,\uFFFD')]);
  });

  it('agrees with readCsv', async () => {
    const text = 'ID,department\r\n1,"a,b"\r\n\n2,"x\r\ny"\n3,z';
    expect(parseCsvText(text, { header: DEPT_HEADER })).toEqual(await readText(text, { header: DEPT_HEADER }));
  });
});

describe('resuming from a position (readCsvFrom)', () => {
  async function chunksOf(source: AsyncIterable<CsvChunk>): Promise<CsvChunk[]> {
    const out: CsvChunk[] = [];
    for await (const chunk of source) out.push(chunk);
    return out;
  }

  /** Reads `data` in the given chunks, and again from the position after every chunk, from its offset on: the rest must be what one pass read. */
  async function expectResumable(data: Uint8Array, chunked: Uint8Array[], options?: ReadCsvOptions, restChunk = 7): Promise<void> {
    const pass = await chunksOf(readCsvFrom(chunks(chunked), START_OF_FILE, options));
    const all = pass.flatMap((c) => c.records.map(plain));
    let before = 0;
    for (const [k, chunk] of pass.entries()) {
      before += chunk.records.length;
      const from = chunk.next;
      const rest = (await chunksOf(readCsvFrom(chunks(everyN(data.subarray(from.offset), restChunk)), from, options))).flatMap((c) =>
        c.records.map(plain),
      );
      expect(rest, `resumed after chunk ${k} at byte ${from.offset}`).toEqual(all.slice(before));
    }
    expect(pass.at(-1)!.next.offset).toBe(data.length);
  }

  const cases: [string, Uint8Array, ReadCsvOptions?][] = [
    ['CRLF with a BOM and a header', bytes('\uFEFFid,department\r\n1,Sales\r\n2,"Ops, West"\r\n3,Ünïcödé 😀\r\n'), { header: DEPT_HEADER }],
    [
      'quoted newlines and quotes, LF and CRLF mixed',
      bytes('1,"a\r\nb"\n2,"say ""hi"""\r\n\r\n3,"x\ny\nz"\n4,last'),
      { header: DEPT_HEADER },
    ],
    [
      'bytes that are not UTF-8, and a character split across chunks',
      Buffer.concat([bytes('1,ok\r\n2,bad '), Buffer.from([0xff, 0xfe]), bytes(' row\r\n3,é\r\n4,"q\xff"\r\n5,end\r\n')]),
    ],
    ['the fix-and-resend header', bytes('id,department,rejected_because\r\n1,Sales,"id: bad"\r\n2,\'=1+1,x\r\n'), { header: DEPT_HEADER }],
  ];
  it.each(cases)('%s', async (_, data, options) => {
    for (const size of [1, 2, 3, 5, 8, 13]) await expectResumable(data, everyN(data, size), options);
  });

  it('an over-long line being skipped when the position is taken: the rest of it is skipped after resuming', async () => {
    const long = 'x'.repeat(MAX_RECORD_CHARS + 10);
    const data = bytes(`1,first\r\n2,${long}\r\n3,after\r\n`);
    await expectResumable(data, everyN(data, 256 * 1024), undefined, 64 * 1024);
  });
});

import { describe, expect, it } from 'vitest';
import { InvalidInputError, TooLargeError } from '../shared/errors';
import { splitJsonArray } from '../functions/lib/jsonBody';

function raws(text: string): string[] {
  return splitJsonArray(text, Infinity).map((e) => e.raw);
}

/** Every element's raw text must parse back to its value. */
function expectConsistent(text: string): void {
  const elements = splitJsonArray(text, Infinity);
  const values = JSON.parse(text.replace(/^\uFEFF/, '')) as unknown[];
  expect(elements).toHaveLength(values.length);
  elements.forEach((e, i) => {
    expect(e.value).toEqual(values[i]);
    expect(JSON.parse(e.raw)).toEqual(values[i]);
  });
}

function thrown(text: string): unknown {
  try {
    splitJsonArray(text, Infinity);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('splitJsonArray: raw text of each element', () => {
  it('splits objects with their exact text and parsed values', () => {
    const text = '[{"id":1,"department":"Sales"},{"department":"Ops","id":"2"}]';
    expect(splitJsonArray(text, Infinity)).toEqual([
      { raw: '{"id":1,"department":"Sales"}', value: { id: 1, department: 'Sales' } },
      { raw: '{"department":"Ops","id":"2"}', value: { department: 'Ops', id: '2' } },
    ]);
  });

  it('keeps number formatting: 1.0, 1e2, -0, 1E+2, 0.10', () => {
    const elements = splitJsonArray('[1.0,1e2,-0,1E+2,0.10,{"id":1.0}]', Infinity);
    expect(elements.map((e) => e.raw)).toEqual(['1.0', '1e2', '-0', '1E+2', '0.10', '{"id":1.0}']);
    expect(elements.map((e) => e.value)).toEqual([1, 100, -0, 100, 0.1, { id: 1 }]);
  });

  it('keeps the digits of numbers too big for a double', () => {
    const big = '123456789012345678901234567890';
    const elements = splitJsonArray(`[${big}, {"id": 9007199254740993}]`, Infinity);
    expect(elements.map((e) => e.raw)).toEqual([big, '{"id": 9007199254740993}']);
    expect(elements[0].value).toBe(Number(big));
    expect((elements[1].value as { id: number }).id).toBe(9007199254740992);
  });

  it('keeps white space inside an element, trims it around', () => {
    const text = '[ { "id" : 1 ,\n  "department" : "Sales" } ,\n\t{"id":2} ]';
    expect(raws(text)).toEqual(['{ "id" : 1 ,\n  "department" : "Sales" }', '{"id":2}']);
    expectConsistent(text);
  });

  it('handles nested objects and arrays', () => {
    const text = '[{"a":{"b":[1,2,{"c":[3,[4]]}]},"d":[]},[1,[2,[3]]],[],{}]';
    expect(raws(text)).toEqual(['{"a":{"b":[1,2,{"c":[3,[4]]}]},"d":[]}', '[1,[2,[3]]]', '[]', '{}']);
    expectConsistent(text);
  });

  it('handles strings containing commas, brackets and braces', () => {
    const text = '[{"name":"Smith, John"},"a,b","]","[","}{",{"x":"],[{"}]';
    expect(raws(text)).toEqual(['{"name":"Smith, John"}', '"a,b"', '"]"', '"["', '"}{"', '{"x":"],[{"}']);
    expectConsistent(text);
  });

  it('handles escaped quotes and backslashes in strings', () => {
    const text = String.raw`[{"name":"say \"hi\", ok"},"\\","\\\"","a\\\\",{"k\"]":"\\\\\"}"},"\u0022,\u005d"]`;
    expect(raws(text)).toEqual([
      String.raw`{"name":"say \"hi\", ok"}`,
      String.raw`"\\"`,
      String.raw`"\\\""`,
      String.raw`"a\\\\"`,
      String.raw`{"k\"]":"\\\\\"}"}`,
      String.raw`"\u0022,\u005d"`,
    ]);
    expectConsistent(text);
    expect(splitJsonArray(text, Infinity)[1].value).toBe('\\');
    expect(splitJsonArray(text, Infinity)[2].value).toBe('\\"');
  });

  it('handles literals and mixed element types', () => {
    const text = '[true,false,null,"s",0,{"id":null}]';
    expect(splitJsonArray(text, Infinity)).toEqual([
      { raw: 'true', value: true },
      { raw: 'false', value: false },
      { raw: 'null', value: null },
      { raw: '"s"', value: 's' },
      { raw: '0', value: 0 },
      { raw: '{"id":null}', value: { id: null } },
    ]);
  });

  it('keeps Unicode text exactly', () => {
    const text = '[{"name":"Zoë 李 😀"},"\\ud83d\\ude00"]';
    expect(raws(text)).toEqual(['{"name":"Zoë 李 😀"}', '"\\ud83d\\ude00"']);
    expect(splitJsonArray(text, Infinity)[1].value).toBe('😀');
  });

  it('handles white space and newlines (LF, CRLF, tabs) between elements and around the array', () => {
    const text = ' \r\n\t[\r\n  {"id":1},\r\n\r\n  {"id":2}\n,\t{"id":3}\r\n]\r\n ';
    expect(raws(text)).toEqual(['{"id":1}', '{"id":2}', '{"id":3}']);
    expectConsistent(text);
  });

  it('reads a single element', () => {
    expect(splitJsonArray('[{"id":1}]', Infinity)).toEqual([{ raw: '{"id":1}', value: { id: 1 } }]);
    expect(splitJsonArray('[ 7 ]', Infinity)).toEqual([{ raw: '7', value: 7 }]);
  });

  it('reads an empty array as no elements', () => {
    expect(splitJsonArray('[]', Infinity)).toEqual([]);
    expect(splitJsonArray(' [ \n\t ] ', Infinity)).toEqual([]);
    expect(splitJsonArray('\uFEFF[]', Infinity)).toEqual([]);
  });

  it('drops a BOM', () => {
    const text = '\uFEFF[{"id":1},{"id":2}]';
    expect(splitJsonArray(text, Infinity)).toEqual([
      { raw: '{"id":1}', value: { id: 1 } },
      { raw: '{"id":2}', value: { id: 2 } },
    ]);
    expect(splitJsonArray('\uFEFF  [ "x" ]', Infinity).map((e) => e.raw)).toEqual(['"x"']);
  });

  it('an array whose elements are empty arrays or objects', () => {
    expect(raws('[[],[ ],{},{ }]')).toEqual(['[]', '[ ]', '{}', '{ }']);
  });

  it('many elements keep their order and values', () => {
    const values = Array.from({ length: 1000 }, (_, i) => ({ id: i + 1, name: `n,${i}]"` }));
    const text = JSON.stringify(values, null, 2);
    const elements = splitJsonArray(text, Infinity);
    expect(elements).toHaveLength(1000);
    elements.forEach((e, i) => {
      expect(e.value).toEqual(values[i]);
      expect(JSON.parse(e.raw)).toEqual(values[i]);
    });
    expect(elements[0].raw).toBe(JSON.stringify(values[0], null, 2).replace(/\n/g, '\n  '));
  });
});

describe('splitJsonArray: errors', () => {
  it.each([
    ['an object', '{"id":1}'],
    ['a string holding an array', '"[1,2]"'],
    ['a number', '1'],
    ['null', 'null'],
    ['true', 'true'],
  ])('rejects %s (not an array) with a InvalidInputError', (_label, text) => {
    const error = thrown(text);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error).toMatchObject({ kind: 'invalid', code: 'malformed_json' });
    expect((error as Error).message).toMatch(/JSON array/);
  });

  it.each([
    ['empty text', ''],
    ['white space', '   '],
    ['an unclosed array', '[{"id":1}'],
    ['a trailing comma', '[1,2,]'],
    ['a leading comma', '[,1]'],
    ['a missing comma', '[1 2]'],
    ['single quotes', "['a']"],
    ['an unquoted key', '[{id:1}]'],
    ['text after the array', '[1] [2]'],
    ['garbage after the array', '[1]x'],
    ['an unterminated string', '["abc]'],
    ['NaN', '[NaN]'],
    ['a comment', '[1 /* c */]'],
    ['a BOM only', '\uFEFF'],
    ['two BOMs', '\uFEFF\uFEFF[]'],
  ])('rejects malformed JSON (%s) with a InvalidInputError', (_label, text) => {
    const error = thrown(text);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error).toMatchObject({ kind: 'invalid', code: 'malformed_json' });
    expect((error as Error).message).toMatch(/not valid JSON/);
  });
});

describe('splitJsonArray: the element limit', () => {
  it('takes exactly the limit, however the elements nest or what their strings hold', () => {
    const text = ' [ {"a":[1,2]} , "x,]" , [3,{"b":4}] ] ';
    expect(raws(text)).toHaveLength(3);
    expect(splitJsonArray(text, 3).map((e) => e.raw)).toEqual(['{"a":[1,2]}', '"x,]"', '[3,{"b":4}]']);
  });

  it('refuses one more than the limit as too large, before it parses the text', () => {
    expect(() => splitJsonArray('[1,2,3,4]', 3)).toThrow(TooLargeError);
    // The fourth element is malformed: the count refuses the body before JSON.parse would.
    expect(() => splitJsonArray('[1,2,3,x', 3)).toThrow(TooLargeError);
  });

  it('counts the elements however much white space comes before the array', () => {
    expect(() => splitJsonArray(`${' '.repeat(100)}[1,2,3,4]`, 3)).toThrow(TooLargeError);
    expect(splitJsonArray(`\uFEFF${'\n'.repeat(100)}[1,2,3]`, 3)).toHaveLength(3);
  });

  it('counts an empty array as no elements, under any limit', () => {
    expect(splitJsonArray('[ ]', 0)).toEqual([]);
    expect(() => splitJsonArray('[1]', 0)).toThrow(TooLargeError);
  });
});

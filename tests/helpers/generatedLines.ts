/** Whether a hired_employees line of tools/datagen.ts is valid (12 departments, 183 jobs; generated names hold no commas): the tests' own oracle, not the service's rules. */
export function isValidGeneratedLine(line: string): boolean {
  const f = line.split(',');
  const id = (s: string, max: number) => /^\d+$/.test(s) && Number(s) >= 1 && Number(s) <= max;
  return (
    f.length === 5 &&
    id(f[0], 2147483647) &&
    f[1] !== '' &&
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(f[2]) &&
    !f[2].startsWith('2021-02-30') &&
    id(f[3], 12) &&
    id(f[4], 183)
  );
}

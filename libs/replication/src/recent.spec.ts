import { recent } from './recent';

describe('recent', () => {
  test('a time less than the window before now is recent; one at or past the window is not', () => {
    expect(recent(1_000, 900, 200)).toBe(true);
    expect(recent(1_000, 800, 200)).toBe(false);
    expect(recent(1_000, 1_000, 200)).toBe(true);
  });

  test('a time after now (the wall clock went back since) is not recent, however far ahead', () => {
    expect(recent(1_000, 1_001, 200)).toBe(false);
    expect(recent(1_000, 1_000 + 315_360_000_000, 200)).toBe(false);
  });
});

import { GraftError } from '../../engine/errors';

/** commander option parsers that refuse bad values with the flag's name, instead of training on NaN. */
export function intFlag(flag: string, min = 0): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min)
      throw new GraftError('BAD_INPUT', `${flag} must be a whole number >= ${min}, got "${v}"`, { where: flag });
    return n;
  };
}

export function numFlag(flag: string, min = -Infinity, max = Infinity): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new GraftError(
        'BAD_INPUT',
        `${flag} must be a number${min > -Infinity ? ` >= ${min}` : ''}${max < Infinity ? ` and <= ${max}` : ''}, got "${v}"`,
        { where: flag },
      );
    }
    return n;
  };
}

export function choiceFlag<T extends string>(flag: string, choices: readonly T[]): (v: string) => T {
  return (v) => {
    if (!choices.includes(v as T))
      throw new GraftError('BAD_INPUT', `${flag} must be one of ${choices.join(', ')}, got "${v}"`, { where: flag });
    return v as T;
  };
}

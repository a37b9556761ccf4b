/** Parsers of command-line option values shared by the commands (commander's argParser). */
import { InvalidArgumentError } from 'commander';

/** A whole number in [min, max], or commander's usage error naming `what`. */
export const integerOption =
  (what: string, min: number, max: number) =>
  (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n < min || n > max) {
      throw new InvalidArgumentError(`${what} must be an integer in [${min}, ${max}]`);
    }
    return n;
  };

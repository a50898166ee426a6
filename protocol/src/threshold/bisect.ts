// Batch-then-bisect: check a whole group at once; when it fails, split it and recurse, so k bad items
// among m cost O(k log m) extra checks and each bad item is found. Backend-independent.
export function bisectValid<T>(items: readonly T[], checkGroup: (group: readonly T[]) => boolean): { valid: T[]; invalid: T[] } {
  const valid: T[] = [];
  const invalid: T[] = [];
  const visit = (group: readonly T[]): void => {
    if (group.length === 0) return;
    if (checkGroup(group)) {
      valid.push(...group);
      return;
    }
    if (group.length === 1) {
      invalid.push(group[0]!);
      return;
    }
    const mid = group.length >> 1;
    visit(group.slice(0, mid));
    visit(group.slice(mid));
  };
  visit(items);
  return { valid, invalid };
}

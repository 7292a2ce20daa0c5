// Keeping what a page showed when a refresh of the same thing fails.

/**
 * A memory of the last value given for a key: a failed refresh (`null`) of the same key gives it back,
 * so a list stays on screen under the error; a new key forgets it.
 */
export function keepLast<T>(): (key: string, value: T | null) => T | null {
	let kept: { key: string; value: T } | null = null;
	return (key, value) => {
		if (value !== null) kept = { key, value };
		else if (kept?.key !== key) kept = null;
		return kept?.value ?? null;
	};
}

// Which rows of a rankings page share their position (shown with "=" and data-tie).
import { describe, expect, it } from 'vitest';
import { ties } from './ranking';

const rows = (...positions: number[]) => positions.map((position) => ({ position }));

describe('ties', () => {
	it('marks nothing when every position is its own', () => {
		expect(ties(rows(1, 2, 3, 4), null, 1)).toEqual([false, false, false, false]);
	});

	it('marks every row of a shared position, and only those', () => {
		expect(ties(rows(1, 1, 3, 4), null, 1)).toEqual([true, true, false, false]);
		expect(ties(rows(1, 2, 2, 2, 5), null, 1)).toEqual([false, true, true, true, false]);
		expect(ties(rows(1, 1, 1), null, 1)).toEqual([true, true, true]);
	});

	it('marks the last row when the next page starts with the same position', () => {
		expect(ties(rows(1, 2, 3), { position: 3 }, 1)).toEqual([false, false, true]);
		expect(ties(rows(1, 2, 3), { position: 4 }, 1)).toEqual([false, false, false]);
	});

	it('marks the first row of a later page when its tie began on the page before', () => {
		// Page 2 of 3 rows: ranks 4, 5, 6; position 3 at rank 4 is shared with the previous page.
		expect(ties(rows(3, 5, 6), null, 4)).toEqual([true, false, false]);
		expect(ties(rows(4, 5, 6), null, 4)).toEqual([false, false, false]);
		// The tie goes on across the whole page.
		expect(ties(rows(3, 3, 3), { position: 3 }, 4)).toEqual([true, true, true]);
	});

	it('handles an empty page and a single row', () => {
		expect(ties([], null, 1)).toEqual([]);
		expect(ties(rows(1), null, 1)).toEqual([false]);
		expect(ties(rows(1), { position: 1 }, 1)).toEqual([true]);
	});
});

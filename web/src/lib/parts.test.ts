// The part scheduler: parallel parts, retries with back-off, waiting while offline, giving up.
import { describe, expect, it } from 'vitest';
import { backoff, PartsFailed, sendParts, type Attempt, type SchedulerOptions } from './parts';

const parts = (n: number) => Array.from({ length: n }, (_, i) => ({ number: i + 1, size: 10 }));

function options(overrides: Partial<SchedulerOptions> = {}): SchedulerOptions & { slept: number[] } {
	const slept: number[] = [];
	return {
		parallel: 3,
		maxAttempts: 4,
		baseDelayMs: 100,
		maxDelayMs: 1000,
		online: () => true,
		whenOnline: async () => {},
		sleep: async (ms) => {
			slept.push(ms);
		},
		random: () => 1,
		slept,
		...overrides
	};
}

describe('backoff', () => {
	it('doubles from the base, stops at the ceiling, and jitters down to half', () => {
		const o = { baseDelayMs: 100, maxDelayMs: 1000, random: () => 1 };
		expect([1, 2, 3, 4, 5, 9].map((n) => backoff(n, o))).toEqual([100, 200, 400, 800, 1000, 1000]);
		expect(backoff(3, { ...o, random: () => 0 })).toBe(200);
	});
});

describe('sendParts', () => {
	it('sends every part once, never more than `parallel` at a time', async () => {
		let inFlight = 0;
		let most = 0;
		const sent: number[] = [];
		await sendParts(
			parts(7),
			async (part) => {
				inFlight += 1;
				most = Math.max(most, inFlight);
				await new Promise((r) => setTimeout(r, 1));
				inFlight -= 1;
				sent.push(part.number);
				return { ok: true };
			},
			options(),
			new AbortController().signal
		);
		expect(sent.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7]);
		expect(most).toBe(3);
	});

	it('retries a failed part with growing waits, then goes on', async () => {
		const o = options();
		const tries = new Map<number, number>();
		await sendParts(
			parts(2),
			async (part): Promise<Attempt> => {
				const n = (tries.get(part.number) ?? 0) + 1;
				tries.set(part.number, n);
				return part.number === 2 && n < 3 ? { ok: false, retry: true } : { ok: true };
			},
			o,
			new AbortController().signal
		);
		expect(tries.get(1)).toBe(1);
		expect(tries.get(2)).toBe(3);
		expect(o.slept).toEqual([100, 200]);
	});

	it('waits for the network while offline, without spending attempts', async () => {
		let online = false;
		let waited = 0;
		let attempts = 0;
		const o = options({
			maxAttempts: 2,
			online: () => online,
			whenOnline: async () => {
				waited += 1;
				if (waited > 3) online = true;
			}
		});
		await sendParts(
			parts(1),
			async (): Promise<Attempt> => {
				attempts += 1;
				return online ? { ok: true } : { ok: false, retry: true };
			},
			o,
			new AbortController().signal
		);
		expect(attempts).toBeGreaterThan(2);
		expect(online).toBe(true);
	});

	it('gives up on a part that keeps failing, or at once on a final refusal', async () => {
		await expect(
			sendParts(parts(3), async () => ({ ok: false, retry: true }), options({ parallel: 1 }), new AbortController().signal)
		).rejects.toBeInstanceOf(PartsFailed);
		const refused = sendParts(
			parts(3),
			async (part): Promise<Attempt> => (part.number === 2 ? { ok: false, retry: false, error: 'gone' } : { ok: true }),
			options({ parallel: 1 }),
			new AbortController().signal
		);
		await expect(refused).rejects.toMatchObject({ part: 2, cause: 'gone' });
	});

	it('honours a server-given wait over its own back-off', async () => {
		const o = options();
		let first = true;
		await sendParts(
			parts(1),
			async (): Promise<Attempt> => {
				if (!first) return { ok: true };
				first = false;
				return { ok: false, retry: true, afterMs: 5000 };
			},
			o,
			new AbortController().signal
		);
		expect(o.slept).toEqual([5000]);
	});

	it('stops when aborted', async () => {
		const controller = new AbortController();
		const sending = sendParts(
			parts(5),
			async () => {
				controller.abort(new Error('cancelled'));
				return { ok: false, retry: true };
			},
			options({ parallel: 1 }),
			controller.signal
		);
		await expect(sending).rejects.toThrow('cancelled');
	});
});

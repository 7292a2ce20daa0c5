// The part scheduler of resumable uploads: a few parts in flight, each retried with back-off, all waiting while offline.

/** A part still to send. */
export interface PendingPart {
	number: number;
	size: number;
}

/** How one attempt at a part ended. */
export type Attempt =
	| { ok: true }
	/** Worth trying again (network, 5xx, 429, an expired link once links are fresh). */
	| { ok: false; retry: true; afterMs?: number }
	/** Never worth trying again: the whole upload stops with this. */
	| { ok: false; retry: false; error: unknown };

export interface SchedulerOptions {
	/** Parts in flight at once. */
	parallel: number;
	/** Attempts per part before the upload gives up (while online). */
	maxAttempts: number;
	/** Back-off of the first retry; doubles each time, up to `maxDelayMs`, with jitter. */
	baseDelayMs: number;
	maxDelayMs: number;
	/** Whether the device says it is online (navigator.onLine). */
	online: () => boolean;
	/** Resolves when the device comes back online (or at once when it is). */
	whenOnline: (signal: AbortSignal) => Promise<void>;
	sleep: (ms: number, signal: AbortSignal) => Promise<void>;
	random: () => number;
}

/** Why a scheduled upload stopped. */
export class PartsFailed extends Error {
	constructor(
		readonly part: number,
		readonly cause: unknown
	) {
		super(`part ${part} failed`);
	}
}

/** The wait before retry number `attempt` (1-based): exponential, capped, with up to 50 % jitter. */
export function backoff(attempt: number, o: Pick<SchedulerOptions, 'baseDelayMs' | 'maxDelayMs' | 'random'>): number {
	const exponential = Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** Math.max(0, attempt - 1));
	return Math.round(exponential * (0.5 + o.random() / 2));
}

/**
 * Sends every part with `send`, `parallel` at a time, in order of part number. A failed attempt is
 * retried after a back-off; while the device is offline nothing is sent and attempts are not
 * counted. Resolves when every part is sent; rejects with PartsFailed when one cannot be, or with
 * the signal's reason when aborted.
 */
export async function sendParts(
	parts: PendingPart[],
	send: (part: PendingPart, signal: AbortSignal) => Promise<Attempt>,
	options: SchedulerOptions,
	signal: AbortSignal
): Promise<void> {
	const queue = [...parts].sort((a, b) => a.number - b.number);
	let failure: PartsFailed | null = null;
	const worker = async () => {
		for (let part = queue.shift(); part; part = queue.shift()) {
			let attempts = 0;
			for (;;) {
				if (signal.aborted) throw signal.reason;
				if (failure) return;
				if (!options.online()) await options.whenOnline(signal);
				const result = await send(part, signal);
				if (result.ok) break;
				if (signal.aborted) throw signal.reason;
				if (!result.retry) {
					failure ??= new PartsFailed(part.number, result.error);
					return;
				}
				// A failure while offline is the network's, not the part's: it does not count.
				if (options.online()) attempts += 1;
				if (attempts >= options.maxAttempts) {
					failure ??= new PartsFailed(part.number, 'too many attempts');
					return;
				}
				await options.sleep(result.afterMs ?? backoff(Math.max(1, attempts), options), signal);
			}
		}
	};
	const workers = Array.from({ length: Math.max(1, Math.min(options.parallel, queue.length)) }, worker);
	await Promise.all(workers);
	if (failure) throw failure;
}

/** The browser's own timers and network state, for `sendParts`. */
export const browserScheduling: Pick<SchedulerOptions, 'online' | 'whenOnline' | 'sleep' | 'random'> = {
	online: () => typeof navigator === 'undefined' || navigator.onLine,
	whenOnline: (signal) =>
		new Promise<void>((resolve, reject) => {
			if (navigator.onLine) return resolve();
			const done = () => {
				window.removeEventListener('online', done);
				signal.removeEventListener('abort', stop);
				resolve();
			};
			const stop = () => {
				window.removeEventListener('online', done);
				reject(signal.reason);
			};
			window.addEventListener('online', done);
			signal.addEventListener('abort', stop, { once: true });
		}),
	sleep: (ms, signal) =>
		new Promise<void>((resolve, reject) => {
			const timer = setTimeout(() => {
				signal.removeEventListener('abort', stop);
				resolve();
			}, ms);
			const stop = () => {
				clearTimeout(timer);
				reject(signal.reason);
			};
			signal.addEventListener('abort', stop, { once: true });
		}),
	random: Math.random
};

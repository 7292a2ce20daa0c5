// Resumable upload: the file in parts (a few at a time, retried, paused while offline) to the links of an upload session, remembered across reloads.
import type { components } from '$lib/api/schema';
import { authApi } from '$lib/api/client';
import { problemOf, retryAfterSeconds, type ProblemInfo } from '$lib/problem';
import { t } from '$lib/i18n';
import { browserScheduling, PartsFailed, sendParts, type Attempt, type PendingPart } from '$lib/parts';
import type { Progress, UploadAccepted, UploadHandle, UploadResult } from '$lib/upload';

type Session = components['schemas']['UploadSession'];

/** The bytes whose SHA-256 identifies a file (its first part, as the API documents `checksum`). */
export const FIRST_PART_BYTES = 5 * 1024 * 1024;
/** Parts in flight at once: enough to fill a phone's uplink, few enough that a cut loses little. */
export const PARALLEL_PARTS = 3;
const STORE_PREFIX = 'rising-stars:upload:';

/** Where a file's session is remembered: its size, name and first part's hash. */
export function storeKey(size: number, name: string, hash: string): string {
	return `${STORE_PREFIX}${size}:${name}:${hash}`;
}

function hex(buffer: ArrayBuffer): string {
	return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** SHA-256 (hex) of the file's first part. */
export async function firstPartHash(file: Blob): Promise<string> {
	return hex(await crypto.subtle.digest('SHA-256', await file.slice(0, FIRST_PART_BYTES).arrayBuffer()));
}

const networkProblem = (): ProblemInfo => ({ status: 0, code: 'network', detail: t.app.networkError });

class Stop {
	constructor(readonly problem: ProblemInfo) {}
}

/** Calls `request` until it answers (a network failure waits for the network, then tries again). */
async function answered<T>(request: () => Promise<T>, signal: AbortSignal): Promise<T> {
	for (let attempt = 1; ; attempt++) {
		if (signal.aborted) throw signal.reason;
		try {
			return await request();
		} catch (error) {
			if (signal.aborted) throw signal.reason;
			if (attempt >= 30) throw new Stop(networkProblem());
			if (!browserScheduling.online()) await browserScheduling.whenOnline(signal);
			else await browserScheduling.sleep(Math.min(10_000, 500 * attempt), signal);
			void error;
		}
	}
}

async function findSession(key: string, file: File, hash: string, signal: AbortSignal): Promise<Session | null> {
	const remembered = localStorage.getItem(key);
	if (remembered) {
		const { data } = await answered(
			() => authApi.GET('/api/videos/uploads/{upload_id}', { params: { path: { upload_id: remembered } }, signal }),
			signal
		);
		if (data && data.size === file.size) return data;
		localStorage.removeItem(key);
	}
	// Forgotten here (another tab, cleared storage): the server's unfinished sessions, by size and hash.
	const { data: open } = await answered(() => authApi.GET('/api/videos/uploads', { signal }), signal);
	return open?.find((s) => s.size === file.size && s.checksum === hash) ?? null;
}

/** Sends one part with XMLHttpRequest (for its progress); the outcome for the scheduler. */
function putPart(url: string, body: Blob, signal: AbortSignal, onLoaded: (bytes: number) => void): Promise<Attempt & { status: number }> {
	return new Promise((resolve) => {
		const xhr = new XMLHttpRequest();
		const stop = () => xhr.abort();
		signal.addEventListener('abort', stop, { once: true });
		const settle = (outcome: Attempt & { status: number }) => {
			signal.removeEventListener('abort', stop);
			resolve(outcome);
		};
		xhr.upload.onprogress = (e) => onLoaded(e.loaded);
		xhr.onload = () => {
			const status = xhr.status;
			if (status >= 200 && status < 300) return settle({ ok: true, status });
			onLoaded(0);
			const wait = retryAfterSeconds(xhr.getResponseHeader('Retry-After'));
			// 403: the link expired (fresh ones are fetched before the retry); 429 and 5xx pass.
			if (status === 403 || status === 429 || status >= 500)
				return settle({ ok: false, retry: true, afterMs: wait === undefined ? undefined : wait * 1000, status });
			let body: unknown = null;
			try {
				body = JSON.parse(xhr.responseText);
			} catch {
				body = null;
			}
			settle({ ok: false, retry: false, error: problemOf(body, { status, headers: new Headers() }), status });
		};
		xhr.onerror = () => {
			onLoaded(0);
			settle({ ok: false, retry: true, status: 0 });
		};
		xhr.onabort = () => settle({ ok: false, retry: true, status: 0 });
		xhr.open('PUT', url);
		xhr.setRequestHeader('Content-Type', 'application/octet-stream');
		xhr.send(body);
	});
}

/**
 * Uploads `file` through an upload session: resumes the session remembered for this file (same size, name and first
 * part) and sends only the parts it lacks, then completes it. The answer is the single upload's.
 */
export function uploadResumable(file: File, title: string, publish: boolean, onProgress: (p: Progress) => void): UploadHandle {
	const controller = new AbortController();
	const signal = controller.signal;
	let sessionId: string | null = null;
	let key: string | null = null;
	let cancelled = false;

	const run = async (): Promise<UploadResult> => {
		const hash = await firstPartHash(file);
		key = storeKey(file.size, file.name, hash);
		let session = await findSession(key, file, hash, signal);
		if (!session) {
			const { data, error, response } = await answered(
				() => authApi.POST('/api/videos/uploads', { body: { size: file.size, title, publish, checksum: hash }, signal }),
				signal
			);
			if (!data) throw new Stop(problemOf(error, response));
			session = data;
		}
		sessionId = session.upload_id;
		localStorage.setItem(key, session.upload_id);

		const loaded = new Map<number, number>();
		const samples: { at: number; sent: number }[] = [];
		let sent = 0;
		const report = () => {
			const total = [...loaded.values()].reduce((a, b) => a + b, 0);
			const now = performance.now();
			samples.push({ at: now, sent });
			while (samples.length > 2 && now - samples[0].at > 2000) samples.shift();
			const dt = (now - samples[0].at) / 1000;
			onProgress({ loaded: Math.min(total, file.size), total: file.size, rate: dt > 0 ? (sent - samples[0].sent) / dt : 0 });
		};

		for (let round = 0; ; round++) {
			const urls = new Map(session.parts.map((p) => [p.part_number, p.url]));
			for (const p of session.parts) loaded.set(p.part_number, p.received ? p.size : 0);
			report();
			const pending: PendingPart[] = session.parts.filter((p) => !p.received).map((p) => ({ number: p.part_number, size: p.size }));
			let refresh: Promise<void> | null = null;
			const freshLinks = () =>
				(refresh ??= (async () => {
					const { data } = await answered(
						() => authApi.GET('/api/videos/uploads/{upload_id}', { params: { path: { upload_id: session!.upload_id } }, signal }),
						signal
					);
					if (data) for (const p of data.parts) urls.set(p.part_number, p.url);
				})().finally(() => (refresh = null)));
			try {
				await sendParts(
					pending,
					async (part, partSignal) => {
						const start = (part.number - 1) * session!.part_size;
						let previous = 0;
						const outcome = await putPart(new URL(urls.get(part.number) ?? '', location.href).href, file.slice(start, start + part.size), partSignal, (bytes) => {
							sent += Math.max(0, bytes - previous);
							previous = bytes;
							loaded.set(part.number, bytes);
							report();
						});
						if (outcome.ok) loaded.set(part.number, part.size);
						if (outcome.status === 403) await freshLinks();
						report();
						return outcome;
					},
					{ parallel: PARALLEL_PARTS, maxAttempts: 8, baseDelayMs: 1000, maxDelayMs: 30_000, ...browserScheduling },
					signal
				);
			} catch (error) {
				if (error instanceof PartsFailed) {
					const cause = error.cause as ProblemInfo | string;
					throw new Stop(typeof cause === 'string' ? networkProblem() : cause);
				}
				throw error;
			}

			// Complete; parts the server still lacks (a part lost between its answer and the store) go again.
			for (;;) {
				const { data, error, response } = await answered(
					() => authApi.POST('/api/videos/uploads/{upload_id}/complete', { params: { path: { upload_id: session!.upload_id } }, signal }),
					signal
				);
				if (data) return { ok: true, accepted: data as UploadAccepted };
				const problem = problemOf(error, response);
				if (problem.code === 'upload_incomplete' && round < 3) break;
				if (problem.status === 409 || problem.status === 429 || problem.status === 503) {
					await browserScheduling.sleep((problem.retryAfter ?? 3) * 1000, signal);
					continue;
				}
				if (problem.status !== 401) localStorage.removeItem(key);
				throw new Stop(problem);
			}
			const { data } = await answered(
				() => authApi.GET('/api/videos/uploads/{upload_id}', { params: { path: { upload_id: session!.upload_id } }, signal }),
				signal
			);
			if (!data) throw new Stop(networkProblem());
			session = data;
		}
	};

	const done = run().then(
		(result) => {
			if (key && result.ok) localStorage.removeItem(key);
			return result;
		},
		(error): UploadResult => {
			if (cancelled || signal.aborted) return { ok: false, aborted: true };
			if (error instanceof Stop) return { ok: false, aborted: false, problem: error.problem };
			return { ok: false, aborted: false, problem: networkProblem() };
		}
	);

	return {
		done,
		abort: () => {
			cancelled = true;
			controller.abort(new DOMException('cancelled', 'AbortError'));
			if (key) localStorage.removeItem(key);
			if (sessionId) void authApi.DELETE('/api/videos/uploads/{upload_id}', { params: { path: { upload_id: sessionId } } }).catch(() => {});
		}
	};
}

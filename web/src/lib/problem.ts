// Reading RFC 9457 problem answers and Retry-After headers into text for people.
import { t } from '$lib/i18n';
import { challengeOf } from '$lib/proof';

export interface ProblemInfo {
	status: number;
	code: string;
	detail: string;
	field?: string;
	/** Seconds to wait, from Retry-After, when the server sent it. */
	retryAfter?: number;
	/**
	 * The answer asked for a proof of work (a 429 past a network's or an e-mail's limit). Requests that can send one
	 * do (`lib/proof.ts`), so a problem still asking means the browser could not solve it: waiting is the way on.
	 */
	proof?: boolean;
}

function isRecord(v: unknown): v is Record<string, unknown> {
	return typeof v === 'object' && v !== null;
}

/** Seconds from a Retry-After header (delta-seconds or an HTTP date). */
export function retryAfterSeconds(value: string | null): number | undefined {
	if (!value) return undefined;
	const n = Number(value.trim());
	if (Number.isFinite(n) && n >= 0) return Math.ceil(n);
	const at = Date.parse(value);
	if (!Number.isNaN(at)) return Math.max(0, Math.ceil((at - Date.now()) / 1000));
	return undefined;
}

/** "45 s" under two minutes, "3 minutos" beyond. */
export function formatWait(seconds: number): string {
	if (seconds < 120) return t.wait.seconds(Math.max(1, seconds));
	return t.wait.minutes(Math.ceil(seconds / 60));
}

/** The problem in an error answer (or a generic one when the body is not a problem). */
export function problemOf(error: unknown, response: Response | { status: number; headers: Headers }): ProblemInfo {
	const retryAfter = retryAfterSeconds(response.headers.get('Retry-After'));
	if (isRecord(error) && typeof error.detail === 'string') {
		return {
			status: response.status,
			code: typeof error.code === 'string' ? error.code : '',
			detail: error.detail,
			field: typeof error.field === 'string' ? error.field : undefined,
			retryAfter,
			...(response.status === 429 && challengeOf(error) ? { proof: true } : {})
		};
	}
	return { status: response.status, code: '', detail: t.app.unknownError, retryAfter };
}

/** The sentence to show for a problem, with the wait when the server asked to wait. */
export function problemText(p: ProblemInfo): string {
	const detail = p.proof ? `${t.proof.failed} ${p.detail}` : p.detail;
	if (p.retryAfter !== undefined && (p.status === 429 || p.status === 503)) {
		return `${detail} ${t.auth.retryIn(formatWait(p.retryAfter))}`;
	}
	return detail;
}

/** A failed fetch (network down, API restarting). */
export const networkProblem = (): ProblemInfo => ({ status: 0, code: 'network', detail: t.app.networkError });

// The jury's desk: the queue's URL (filter and page), which decisions apply to a video, and deciding held votes by rule.
import type { QueuedVideo } from '$lib/api/client';

export type QueueShow = 'all' | 'open' | 'hidden';

/** `?ver=` values of the queue page (Spanish in the URL) and the API's `show`. */
const SHOW_PARAM: Record<string, QueueShow> = { reportados: 'open', ocultos: 'hidden' };
const PARAM_OF: Record<QueueShow, string> = { all: '', open: 'reportados', hidden: 'ocultos' };

/** Reads the queue's `?ver=` (default all) and `?pagina=` (from 1). */
export function queueQuery(url: URL): { show: QueueShow; page: number } {
	const show = SHOW_PARAM[url.searchParams.get('ver') ?? ''] ?? 'all';
	return { show, page: pageParam(url) };
}

/** The queue page's URL for a filter and page, leaving out the defaults. */
export function queueHref(show: QueueShow, page: number): string {
	const q = new URLSearchParams();
	if (PARAM_OF[show]) q.set('ver', PARAM_OF[show]);
	if (page > 1) q.set('pagina', String(page));
	const s = q.toString();
	return s ? `/jurado?${s}` : '/jurado';
}

/** `?pagina=` from 1; anything unreadable is page 1. */
export function pageParam(url: URL): number {
	return Math.max(1, Number.parseInt(url.searchParams.get('pagina') ?? '1', 10) || 1);
}

/** Pages of `size` for `total` items (at least one). */
export const pageCount = (total: number, size: number) => Math.max(1, Math.ceil(total / size));

export type Decision = 'hide' | 'restore' | 'dismiss';

/**
 * The decisions the API accepts for a video as it stands: hide unless staff already hid it, restore while it is hidden
 * (by reports or by staff), dismiss while it has open reports. Offering only these keeps a click from a 409.
 */
export function decisionsFor(video: Pick<QueuedVideo, 'visibility' | 'open_reports'>): Decision[] {
	const out: Decision[] = [];
	if (video.visibility !== 'hidden') out.push('hide');
	if (video.visibility !== 'visible') out.push('restore');
	if (video.open_reports > 0) out.push('dismiss');
	return out;
}

/**
 * Repeats `send` (a decision by rule, which takes at most 500 votes a request) while the answer says votes of the rule
 * remain, and stops at a failure or when a request decided nothing (someone else is deciding them). Returns how many
 * were decided in all, and the failure's text.
 */
export async function decideUntilDone(
	send: () => Promise<{ decided: number; remaining: number } | { error: string }>,
	maxRequests = 100
): Promise<{ decided: number; error: string }> {
	let decided = 0;
	for (let i = 0; i < maxRequests; i++) {
		const answer = await send();
		if ('error' in answer) return { decided, error: answer.error };
		decided += answer.decided;
		if (answer.remaining === 0 || answer.decided === 0) break;
	}
	return { decided, error: '' };
}

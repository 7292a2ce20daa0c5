// Reporting a video: the fixed list of reasons, the form's check before sending, and the request.
import { authApi, SESSION_GONE, type ReportReason } from '$lib/api/client';
import { checkField, reportDetailsRule } from '$lib/validation';
import { problemOf, networkProblem, type ProblemInfo } from '$lib/problem';
import { t } from '$lib/i18n';

/** The API's reasons, in the order the form lists them (`other` last: it asks for words). */
export const REPORT_REASONS: readonly ReportReason[] = [
	'inappropriate',
	'not_basketball',
	'not_the_player',
	'copyright',
	'other'
];

export interface ReportForm {
	reason: ReportReason | '';
	details: string;
}

/** The request body, or the field to fix and why: a reason is needed, and words with `other` (optional otherwise). */
export function reportBody(
	form: ReportForm
): { body: { reason: ReportReason; details?: string } } | { field: 'reason' | 'details'; message: string } {
	if (!form.reason) return { field: 'reason', message: t.report.pickReason };
	const details = form.details.trim();
	if (!details) {
		if (form.reason === 'other') return { field: 'details', message: t.validation.required };
		return { body: { reason: form.reason } };
	}
	const message = checkField(form.details, reportDetailsRule);
	if (message) return { field: 'details', message };
	return { body: { reason: form.reason, details } };
}

/** What sending a report came to. */
export type ReportOutcome =
	| { kind: 'sent'; message: string }
	/** Reported before (now or in another tab): nothing changed. */
	| { kind: 'already'; message: string }
	/** The session is gone: log in again. */
	| { kind: 'gone' }
	| { kind: 'failed'; problem: ProblemInfo };

/** Sends a report (`POST /api/public/videos/{id}/report`). */
export async function sendReport(
	videoId: string,
	body: { reason: ReportReason; details?: string }
): Promise<ReportOutcome> {
	try {
		const { data, error, response } = await authApi.POST('/api/public/videos/{video_id}/report', {
			params: { path: { video_id: videoId } },
			body
		});
		if (data) return { kind: 'sent', message: data.message };
		if (response.status === SESSION_GONE) return { kind: 'gone' };
		const p = problemOf(error, response);
		if (p.code === 'already_reported') return { kind: 'already', message: p.detail };
		return { kind: 'failed', problem: p };
	} catch {
		return { kind: 'failed', problem: networkProblem() };
	}
}

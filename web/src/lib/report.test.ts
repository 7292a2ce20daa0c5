// A report's form before sending: a reason from the list, words required for «other» and checked against the API's rule.
import { describe, expect, it } from 'vitest';
import { REPORT_REASONS, reportBody } from './report';
import { t } from './i18n';

describe('reportBody', () => {
	it('lists the API’s reasons, every one with its Spanish label', () => {
		expect(REPORT_REASONS).toEqual(['inappropriate', 'not_basketball', 'not_the_player', 'copyright', 'other']);
		for (const reason of REPORT_REASONS) expect(t.report.reasons[reason]).toBeTruthy();
	});

	it('asks for a reason first', () => {
		expect(reportBody({ reason: '', details: 'algo' })).toEqual({ field: 'reason', message: t.report.pickReason });
	});

	it('sends a listed reason without words, and trimmed words when given', () => {
		expect(reportBody({ reason: 'copyright', details: '   ' })).toEqual({ body: { reason: 'copyright' } });
		expect(reportBody({ reason: 'not_the_player', details: '  Es mi primo  ' })).toEqual({
			body: { reason: 'not_the_player', details: 'Es mi primo' }
		});
	});

	it('needs words for «other», within the API’s 500 characters and without control characters', () => {
		expect(reportBody({ reason: 'other', details: ' ' })).toEqual({ field: 'details', message: t.validation.required });
		expect(reportBody({ reason: 'other', details: 'Sale publicidad' })).toEqual({
			body: { reason: 'other', details: 'Sale publicidad' }
		});
		expect(reportBody({ reason: 'other', details: 'x'.repeat(501) })).toMatchObject({ field: 'details' });
		expect(reportBody({ reason: 'other', details: 'x'.repeat(500) })).toMatchObject({ body: { reason: 'other' } });
		expect(reportBody({ reason: 'inappropriate', details: 'uno\u0007dos' })).toMatchObject({ field: 'details' });
	});
});

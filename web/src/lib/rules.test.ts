// The upload rules the web app checks and shows are the API document's, and its texts say them.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { t } from '$lib/i18n';
import { codecList, maxUploadMegabytes, uploadRules } from './rules';
import { MAX_UPLOAD_BYTES, MIN_SHORT_SIDE, metaProblem, sizeProblem } from './upload';

const doc = JSON.parse(readFileSync(new URL('../../../docs/openapi.json', import.meta.url), 'utf8'));

describe('upload rules', () => {
	it('are the ones the API document publishes', () => {
		expect(uploadRules).toEqual(doc.paths['/api/videos/upload'].post['x-upload-rules']);
		expect(MAX_UPLOAD_BYTES).toBe(uploadRules.max_bytes);
		expect(MIN_SHORT_SIDE).toBe(uploadRules.min_short_side);
	});

	it('read as the texts a player sees', () => {
		expect(maxUploadMegabytes).toBe(100);
		expect(codecList).toBe('H.264, H.265, AV1 o MPEG-4');
		expect(t.upload.lead).toContain(`de ${uploadRules.min_seconds} a ${uploadRules.max_seconds} segundos`);
		expect(sizeProblem(uploadRules.max_bytes + 1)).toContain('el máximo es 100 MB');
		const lowRes = metaProblem({ duration: 30, width: 1280, height: uploadRules.min_short_side - 1 });
		expect(lowRes).toBe(t.upload.lowRes(1280, uploadRules.min_short_side - 1));
	});
});

// The upload rules as the API document publishes them (`x-upload-rules` on the upload operation, read at build time by vite.config.ts): the browser checks and the texts use the server's numbers.

export const uploadRules = __UPLOAD_RULES__;

/** The size limit in whole megabytes (MiB, as the texts and `megabytes()` count them). */
export const maxUploadMegabytes = Math.round(uploadRules.max_bytes / (1024 * 1024));

/** The accepted codecs as a Spanish list: "H.264, H.265, AV1 o MPEG-4". */
export const codecList = (() => {
	const labels = uploadRules.codecs.map((codec) => codec.label);
	return labels.length > 1 ? `${labels.slice(0, -1).join(', ')} o ${labels[labels.length - 1]}` : labels.join('');
})();

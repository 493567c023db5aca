/**
 * Type-checking shared modules (model/layout.ts) that use Node's Buffer in code the dashboard
 * never reaches (esbuild drops it). Declared narrowly so dashboard code gets no other Node API.
 */
declare const Buffer: { byteLength(text: string, encoding?: string): number };

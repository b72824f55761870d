// Type of iciia_core.mt.worker.text.mjs (scripts/build.sh writes it): the pthread worker script's text.
declare const text: string;
export default text;

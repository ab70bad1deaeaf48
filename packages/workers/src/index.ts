export const WORKERS = 'workers';

export const KERNEL = 'kernel';

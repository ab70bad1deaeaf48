export const MACHINE = 'machine';

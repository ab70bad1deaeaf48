#!/usr/bin/env node
console.log('cherisim');

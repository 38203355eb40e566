/// <reference types="vite/client" />
declare module 'virtual:gantry-theme.css';

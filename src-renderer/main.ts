import { mount } from 'svelte';
import App from './App.svelte';
import './app.css';
// Before the first paint: the OS's theme until the saved choice is loaded.
import './lib/theme';

const target = document.getElementById('app');
if (!target) throw new Error('index.html lacks #app');
export default mount(App, { target });

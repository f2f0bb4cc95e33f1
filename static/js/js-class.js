// Marks the page as scripted before it paints, so styles for the scripted layout apply at once. A file, not
// an inline script: the Content-Security-Policy allows scripts from this site only.
document.documentElement.className = "js";

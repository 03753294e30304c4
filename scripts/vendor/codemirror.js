// The parts of CodeMirror 6 the page's editor uses, bundled by scripts/build_vendor.mjs into
// web/vendor/codemirror.js (one ES module, served from the page's own origin).
export {
  EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter, drawSelection,
  dropCursor, rectangularSelection, crosshairCursor, highlightSpecialChars, Decoration, ViewPlugin,
  hoverTooltip, showTooltip,
} from "@codemirror/view";
export { EditorState, StateField, StateEffect, Compartment, Transaction, Annotation } from "@codemirror/state";
export { defaultKeymap, history, historyKeymap, indentWithTab, undo, redo, toggleComment } from "@codemirror/commands";
export {
  indentOnInput, bracketMatching, foldGutter, foldKeymap, syntaxHighlighting, defaultHighlightStyle,
  indentUnit, HighlightStyle,
} from "@codemirror/language";
export { python } from "@codemirror/lang-python";
export {
  autocompletion, completionKeymap, closeBrackets, closeBracketsKeymap, startCompletion, acceptCompletion,
  closeCompletion, completionStatus, currentCompletions, selectedCompletion, moveCompletionSelection,
} from "@codemirror/autocomplete";
export { linter, lintGutter, setDiagnostics, forceLinting, lintKeymap, diagnosticCount } from "@codemirror/lint";
export { search, searchKeymap, highlightSelectionMatches, openSearchPanel } from "@codemirror/search";
export { tags } from "@lezer/highlight";

// The protocol editor: CodeMirror 6 (served from web/vendor) with Python highlighting, line
// numbers, Tab indentation, undo/redo, search, bracket matching, Jedi completion and signature
// help from the worker, and the worker's diagnostics underlined at their lines. Only the latest
// completion, signature and diagnostics request matters: an older one still waiting is dropped,
// never queued behind the newer (the worker runs one Python at a time).
import {
  EditorView, EditorState, Compartment, StateEffect, StateField, Decoration, keymap, lineNumbers,
  highlightActiveLine, highlightActiveLineGutter, drawSelection, dropCursor, rectangularSelection,
  crosshairCursor, highlightSpecialChars, showTooltip, defaultKeymap, history, historyKeymap,
  indentWithTab, indentOnInput, bracketMatching, foldGutter, foldKeymap, syntaxHighlighting,
  defaultHighlightStyle, indentUnit, python, autocompletion, completionKeymap, closeBrackets,
  closeBracketsKeymap, linter, lintGutter, lintKeymap, search, searchKeymap, highlightSelectionMatches,
  toggleComment, acceptCompletion,
} from "../vendor/codemirror.js";

export const STALE = Symbol("stale");

// fn(...args) at most once at a time; while one runs, only the newest call waits (older waiting
// calls resolve to STALE at once), so typing never builds a backlog in the worker.
export function latestOnly(fn) {
  let running = false;
  let waiting = null;
  let generation = 0;
  async function pump() {
    if (running || !waiting) return;
    const job = waiting;
    waiting = null;
    running = true;
    try {
      const value = await fn(...job.args);
      job.resolve(job.generation === generation ? value : STALE);
    } catch (err) {
      job.resolve(job.generation === generation ? { error: err } : STALE);
    } finally {
      running = false;
      pump();
    }
  }
  return (...args) =>
    new Promise((resolve) => {
      waiting?.resolve(STALE);
      waiting = { args, resolve, generation: ++generation };
      pump();
    });
}

// 1-based line and 0-based column (what the worker speaks) <-> document offsets.
export function positionOf(doc, line, column) {
  const at = doc.line(Math.min(Math.max(line, 1), doc.lines));
  return Math.min(at.from + Math.max(column, 0), at.to);
}

function lineColumn(state, pos) {
  const line = state.doc.lineAt(pos);
  return { line: line.number, column: pos - line.from };
}

// A line marked for the user (the line a run failed at), cleared when the text changes there.
const markLine = StateEffect.define();
const markedLine = StateField.define({
  create: () => Decoration.none,
  update(marks, transaction) {
    marks = marks.map(transaction.changes);
    for (const effect of transaction.effects) {
      if (effect.is(markLine)) {
        marks = effect.value === null ? Decoration.none
          : Decoration.set([Decoration.line({ class: effect.value.kind === "step" ? "cm-run-step-line" : "cm-run-error-line" })
            .range(effect.value.at)]);
      }
    }
    return marks;
  },
  provide: (field) => EditorView.decorations.from(field),
});

// Signature help: a tooltip above the cursor while it is inside a call's parentheses.
const setSignature = StateEffect.define();
const signatureField = StateField.define({
  create: () => null,
  update(value, transaction) {
    for (const effect of transaction.effects) if (effect.is(setSignature)) return effect.value;
    return transaction.docChanged || transaction.selection ? value && { ...value, stale: true } : value;
  },
  provide: (field) => showTooltip.compute([field], (state) => {
    const signature = state.field(field);
    if (!signature || signature.stale) return null;
    return {
      pos: signature.pos,
      above: true,
      strictSide: false,
      create() {
        const dom = document.createElement("div");
        dom.className = "cm-signature";
        const name = document.createElement("b");
        name.textContent = signature.name;
        dom.append(name, "(");
        signature.params.forEach((param, index) => {
          const part = document.createElement(index === signature.index ? "u" : "span");
          part.textContent = param;
          dom.append(part, index < signature.params.length - 1 ? ", " : "");
        });
        dom.append(")");
        return { dom };
      },
    };
  }),
});

export class ProtocolEditor {
  // `labwright` for the worker's completion / diagnostics; callbacks:
  //   onChange(source) after every edit, onDiagnostics(list) whenever they are found.
  // The console's input passes its own `providers` ({complete, signatures}; no diagnose) and keys.
  constructor(parent, labwright, { onChange = () => {}, onDiagnostics = () => {}, filename = () => "protocol.py",
    providers = null, keys = [], label = "Protocol source", gutters = true } = {}) {
    this.labwright = labwright;
    this.onChange = onChange;
    this.onDiagnostics = onDiagnostics;
    this.filename = filename;
    this.diagnostics = [];
    this.readOnly = new Compartment();
    const use = providers ?? {
      complete: (source, line, column) => labwright.protocols.complete(source, line, column),
      signatures: (source, line, column) => labwright.protocols.signatures(source, line, column),
      diagnose: (source, filename) => labwright.protocols.diagnose(source, filename),
    };
    const complete = latestOnly(use.complete);
    const signatures = latestOnly(use.signatures);
    const diagnose = use.diagnose ? latestOnly(use.diagnose) : null;
    this.requests = { complete, signatures, diagnose };

    const completionSource = async (context) => {
      const word = context.matchBefore(/[\w.]*/);
      if (!context.explicit && (!word || word.from === word.to) && !/\.$/.test(word?.text ?? "")) return null;
      const { line, column } = lineColumn(context.state, context.pos);
      const found = await complete(context.state.doc.toString(), line, column);
      if (found === STALE || found?.error || context.aborted) return null;
      const start = context.matchBefore(/\w*/)?.from ?? context.pos;
      return {
        from: start,
        options: found.map((item) => ({ label: item.name, type: completionType(item.type), detail: item.type })),
        validFor: /^\w*$/,
      };
    };

    const diagnosticsSource = async (view) => {
      const source = view.state.doc.toString();
      const found = await diagnose(source, this.filename());
      if (found === STALE) return this.lastLint ?? [];
      if (found?.error) return [];
      this.diagnostics = found;
      this.onDiagnostics(found);
      const doc = view.state.doc;
      this.lastLint = found.map((d) => {
        const from = positionOf(doc, d.line, d.column);
        const to = Math.max(positionOf(doc, d.end_line, d.end_column), from + 1);
        return { from, to: Math.min(to, doc.length), severity: d.severity, source: d.source, message: d.message };
      });
      return this.lastLint;
    };

    const signatureHelp = EditorView.updateListener.of((update) => {
      if (!update.docChanged && !update.selectionSet) return;
      const state = update.state;
      const pos = state.selection.main.head;
      const before = state.doc.sliceString(Math.max(0, pos - 200), pos);
      if (!/\([^()]*$/.test(before)) return;
      const { line, column } = lineColumn(state, pos);
      signatures(state.doc.toString(), line, column).then((found) => {
        // An answer for a text no longer there (typed on, or the console's input was run) is dropped.
        if (found === STALE || found?.error || !this.view || this.view.state.doc !== state.doc) return;
        const first = found[0];
        this.view.dispatch({ effects: setSignature.of(first ? { ...first, pos: this.view.state.selection.main.head } : null) });
      });
    });

    this.extensions = [
          ...(gutters ? [lineNumbers(), highlightActiveLineGutter(), foldGutter()] : []),
          keymap.of(keys), // the caller's keys first (the console's Ctrl+Enter)
          highlightSpecialChars(), history(), drawSelection(),
          dropCursor(), EditorState.allowMultipleSelections.of(true), indentOnInput(),
          syntaxHighlighting(defaultHighlightStyle, { fallback: true }), bracketMatching(), closeBrackets(),
          rectangularSelection(), crosshairCursor(), highlightActiveLine(), highlightSelectionMatches(), search({ top: true }),
          indentUnit.of("    "), python(),
          autocompletion({ override: [completionSource], activateOnTypingDelay: 60, maxRenderedOptions: 60 }),
          ...(diagnose ? [linter(diagnosticsSource, { delay: 400 }), lintGutter()] : []),
          markedLine, signatureField, signatureHelp,
          keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...searchKeymap, ...historyKeymap, ...foldKeymap,
            ...completionKeymap, ...lintKeymap, { key: "Mod-/", run: toggleComment },
            { key: "Tab", run: acceptCompletion }, indentWithTab]), // Tab takes an open completion, else indents
          this.readOnly.of(EditorState.readOnly.of(false)),
          EditorView.updateListener.of((update) => {
            if (update.docChanged && !this.settingText) this.onChange(update.state.doc.toString());
          }),
          EditorView.contentAttributes.of({ "aria-label": label, spellcheck: "false" }),
    ];
    this.view = new EditorView({ parent, state: EditorState.create({ doc: "", extensions: this.extensions }) });
  }

  get text() {
    return this.view.state.doc.toString();
  }

  // Open another text (a file): a fresh state, so undo never crosses into the previous file.
  setText(text) {
    this.settingText = true;
    try {
      this.view.setState(EditorState.create({ doc: text, extensions: this.extensions }));
    } finally {
      this.settingText = false;
    }
  }

  // Replace the whole text as an edit of the user's (undo brings the old text back).
  replaceText(text) {
    this.view.dispatch({ changes: { from: 0, to: this.view.state.doc.length, insert: text } });
  }

  // Highlight `line` (a run failed there) and scroll it into view; null clears it.
  // Mark a line of the file: kind "error" (where a run failed) or "step" (the timeline's command).
  markLine(line, kind = "error") {
    if (line === null || line === undefined) {
      this.view.dispatch({ effects: markLine.of(null) });
      return;
    }
    const at = this.view.state.doc.line(Math.min(Math.max(line, 1), this.view.state.doc.lines));
    this.view.dispatch({ effects: [markLine.of({ at: at.from, kind }), EditorView.scrollIntoView(at.from, { y: "center" })] });
  }

  goTo(line, column = 0) {
    const pos = positionOf(this.view.state.doc, line, column);
    this.view.dispatch({ selection: { anchor: pos }, effects: EditorView.scrollIntoView(pos, { y: "center" }) });
    this.view.focus();
  }

  focus() {
    this.view.focus();
  }
}

function completionType(jediType) {
  return { module: "namespace", class: "class", instance: "variable", function: "function", param: "variable",
    path: "text", keyword: "keyword", property: "property", statement: "variable" }[jediType] ?? "variable";
}

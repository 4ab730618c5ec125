import Foundation
import Testing
import Collections
@testable import AutoProg

@Suite struct NotebookTests {
    static let recipe = """
        -- A tiny recipe.
        local nn = require "nn"

        -- %% [markdown] Overview
        -- # MLP on Fashion-MNIST
        --
        -- Trains *fast*.

        -- %% Model
        local model = nn.Linear(4, 2)
        print(model)

        -- %%
        -- %% Train
        for i = 1, 3 do
          print(i)
        end

        """

    @Test func splitsCellsWithTitlesLinesAndMarkdown() {
        let notebook = Notebook(recipeSource: Self.recipe, recipeName: "mlp")
        let cells = notebook.cells
        #expect(cells.map(\.kind) == [.code, .markdown, .code, .code, .code])
        #expect(cells.map(\.title) == [nil, "Overview", "Model", nil, "Train"])
        #expect(cells.map(\.startLine) == [1, 5, 10, 14, 15])
        #expect(cells[0].source == "-- A tiny recipe.\nlocal nn = require \"nn\"")
        #expect(cells[1].source == "# MLP on Fashion-MNIST\n\nTrains *fast*.")
        #expect(cells[2].source == "local model = nn.Linear(4, 2)\nprint(model)")
        #expect(cells[3].source == "")
        #expect(cells[4].source == "for i = 1, 3 do\n  print(i)\nend")
        // Recipe line -> cell, marker lines and trailing blank lines included.
        let expected: [Int: Int?] = [0: nil, 1: 0, 3: 0, 4: 1, 8: 1, 9: 2, 11: 2, 12: 2, 13: 3, 14: 4, 17: 4, 18: nil]
        for (line, cell) in expected { #expect(notebook.cellIndex(forLine: line) == cell, "line \(line)") }
    }

    @Test func blankPreambleIsNotACellAndPlainScriptIsOne() {
        let marked = Notebook(recipeSource: "\n\n-- %% A\nx = 1\n", recipeName: "r")
        #expect(marked.cells.count == 1 && marked.cells[0].startLine == 4 && marked.cells[0].title == "A")
        let plain = Notebook(recipeSource: "\nx = 1\r\ny = 2", recipeName: "r")
        #expect(plain.cells.count == 1)
        #expect(plain.cells[0].source == "x = 1\ny = 2" && plain.cells[0].startLine == 2)
        #expect(Notebook(recipeSource: "", recipeName: "r").cells.isEmpty)
    }

    @Test func outputsMergeStreamsAndGoToCodeCells() throws {
        let notebook = Notebook(recipeSource: Self.recipe, recipeName: "mlp")
        notebook.appendStream("1\n", cell: 4)
        notebook.appendStream("2\n", cell: 4)
        notebook.appendStream("warn\n", cell: 4, name: "stderr")
        notebook.appendStream("3\n", cell: 4)
        notebook.appendStream("from markdown\n", cell: 1)  // goes to the code cell before it
        notebook.appendImage(png: Data([1, 2, 3]), cell: 2, caption: "samples")
        notebook.appendTable([["epoch": 1, "loss": 0.5], ["epoch": 2, "acc": "<b>"]], cell: 2)
        notebook.appendError(name: "LuaError", message: "boom", traceback: ["recipe.lua:16: boom"], cell: 3)
        notebook.setExecutionCount(5, cell: 4)
        notebook.appendStream("ignored", cell: 99)

        let outputs = notebook.cells[4].outputs
        #expect(outputs == [
            ["output_type": "stream", "name": "stdout", "text": "1\n2\n"],
            ["output_type": "stream", "name": "stderr", "text": "warn\n"],
            ["output_type": "stream", "name": "stdout", "text": "3\n"],
        ])
        #expect(notebook.cells[0].outputs == [["output_type": "stream", "name": "stdout", "text": "from markdown\n"]])
        #expect(notebook.cells[1].outputs.isEmpty)
        let image = notebook.cells[2].outputs[0]
        #expect(image["output_type"] == "display_data")
        #expect(image["data"]?["image/png"] == .string(Data([1, 2, 3]).base64EncodedString()))
        #expect(image["data"]?["text/plain"] == "samples")
        let table = notebook.cells[2].outputs[1]["data"]
        #expect(table?["text/html"]?.stringValue?.contains("<th>epoch</th><th>loss</th><th>acc</th>") == true)
        #expect(table?["text/html"]?.stringValue?.contains("<td>2</td><td></td><td>&lt;b&gt;</td>") == true)
        #expect(table?["text/plain"] == .string("epoch  loss  acc\n    1   0.5     \n    2        <b>"))
        #expect(notebook.cells[3].outputs == [["output_type": "error", "ename": "LuaError", "evalue": "boom", "traceback": ["recipe.lua:16: boom"]]])
        #expect(notebook.cells[4].executionCount == 5)
    }

    @Test func writesNbformat45() throws {
        let tmp = try TemporaryDirectory()
        let notebook = Notebook(recipeSource: Self.recipe, recipeName: "mlp")
        notebook.appendStream("Linear(4 -> 2)\nline two\n", cell: 2)
        notebook.appendImage(png: Data([0x89, 0x50]), cell: 2)
        notebook.appendTable([["epoch": 1, "loss": 0.5]], cell: 4)
        notebook.appendError(name: "LuaError", message: "boom", traceback: ["a", "b"], cell: 4)
        notebook.setExecutionCount(1, cell: 0)
        notebook.setExecutionCount(2, cell: 2)
        let url = tmp.file("notebook.ipynb")
        try notebook.write(to: url)
        keepForInspection(url)

        let text = try tmp.read("notebook.ipynb")
        #expect(text.hasPrefix("{\n \"cells\": [\n  {\n"))
        let doc = try JSONValue.parse(text)
        #expect(doc["nbformat"] == 4 && doc["nbformat_minor"] == 5)
        #expect(doc["metadata"]?["kernelspec"] == ["name": "lua", "display_name": "Lua 5.4 (autoprog)", "language": "lua"])
        #expect(doc["metadata"]?["language_info"] == ["name": "lua", "version": "5.4", "file_extension": ".lua"])
        let cells = try #require(doc["cells"]?.arrayValue)
        #expect(cells.count == 5)
        let ids = cells.compactMap { $0["id"]?.stringValue }
        #expect(Set(ids).count == 5 && ids.allSatisfy { $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" } })
        #expect(cells[1]["cell_type"] == "markdown" && cells[1]["outputs"] == nil && cells[1]["execution_count"] == nil)
        #expect(cells[1]["metadata"] == ["title": "Overview"])
        #expect(cells[1]["source"] == ["# MLP on Fashion-MNIST\n", "\n", "Trains *fast*."])
        #expect(cells[2]["execution_count"] == 2 && cells[3]["execution_count"] == .null)
        #expect(cells[2]["outputs"]?.arrayValue?.first?["text"] == ["Linear(4 -> 2)\n", "line two\n"])
        #expect(cells[3]["source"] == [] && cells[3]["outputs"] == [])
    }
}

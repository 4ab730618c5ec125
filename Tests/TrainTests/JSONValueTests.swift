import Foundation
import Testing
import Collections
@testable import AutoProg

@Suite struct JSONValueTests {
    @Test func serializesCompactlyInOrder() {
        let value: JSONValue = ["step": 3, "loss": 0.25, "name": "vit", "ok": true, "none": nil, "list": [1, 2.5, "x"], "empty": [:]]
        #expect(value.serialized == #"{"step":3,"loss":0.25,"name":"vit","ok":true,"none":null,"list":[1,2.5,"x"],"empty":{}}"#)
    }

    @Test func doublesUseShortestRoundTripAndNonFiniteBecomeNull() throws {
        let values: [Double] = [0.1, 1e-5, 3.0, -0.0, 1e300, 123456789.125, .leastNonzeroMagnitude]
        for d in values {
            let text = JSONValue.number(d).serialized
            #expect(Double(text) == d, "\(text)")
            #expect(try JSONValue.parse(text).doubleValue == d)
        }
        #expect(JSONValue.number(0.1).serialized == "0.1")
        #expect(JSONValue.number(.nan).serialized == "null")
        #expect(JSONValue.number(-.infinity).serialized == "null")
        #expect(JSONValue(Float(0.1)).serialized == "0.1")
        #expect(Float(try #require(JSONValue.parse(JSONValue(Float(0.1)).serialized).doubleValue)) == Float(0.1))
    }

    @Test func escapesControlCharactersAndKeepsUnicode() throws {
        let s = "quote\" back\\ nl\n tab\t cr\r bell\u{07} nul\u{00} unit\u{1F} é 日本 🎉"
        let text = JSONValue.string(s).serialized
        #expect(text == #""quote\" back\\ nl\n tab\t cr\r bell\u0007 nul\u0000 unit\u001f é 日本 🎉""#)
        #expect(try JSONValue.parse(text) == .string(s))
        #expect(try JSONValue.parse(#""\ud83c\udf89 \u00e9""#) == .string("🎉 é"))
    }

    @Test func roundTripsNestedDocuments() throws {
        let value: JSONValue = ["z": ["b": [nil, false, -7, 1.5e-7], "a": "\u{2028}"], "a": [[], [:], [[1]]]]
        #expect(try JSONValue.parse(value.serialized) == value)
        #expect(try JSONValue.parse(value.prettyPrinted()) == value)
        #expect(try JSONValue.parse(value.prettyPrinted(indent: 1)) == value)
        let keys = try #require(JSONValue.parse(#"{"b":1,"a":2,"c":3}"#).objectValue).keys
        #expect(Array(keys) == ["b", "a", "c"])
    }

    @Test func prettyPrintsLikePythonIndent2() {
        let value: JSONValue = ["a": [1, 2], "b": [:], "c": []]
        #expect(value.prettyPrinted() == "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {},\n  \"c\": []\n}")
    }

    @Test func integersStayExact() throws {
        #expect(try JSONValue.parse("9007199254740993") == .integer(9_007_199_254_740_993))
        #expect(try JSONValue.parse("2.0") == .number(2))
        #expect(try JSONValue.parse("2.0").intValue == 2)
        #expect(try JSONValue.parse("-1e2") == .number(-100))
    }

    @Test func rejectsMalformedText() {
        for bad in ["", "{", "[1,]", #"{"a":1,"a":2}"#, "01", "\"\u{01}\"", "nul", "1 2", #""\ud800""#, "{'a':1}"] {
            #expect(throws: JSONParseError.self, "\(bad)") { try JSONValue.parse(bad) }
        }
    }

    @Test func accessors() throws {
        let value = try JSONValue.parse(#"{"step": 12, "lr": 0.5, "name": "x", "flag": true, "xs": [1]}"#)
        #expect(value["step"]?.intValue == 12)
        #expect(value["lr"]?.doubleValue == 0.5)
        #expect(value["lr"]?.intValue == nil)
        #expect(value["name"]?.stringValue == "x")
        #expect(value["flag"]?.boolValue == true)
        #expect(value["xs"]?.arrayValue == [1])
        #expect(value["missing"] == nil)
        #expect(JSONValue.integer(1)["step"] == nil)
    }
}

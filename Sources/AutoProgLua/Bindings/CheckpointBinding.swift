import AutoProg
import CLua
import Foundation

/// `ap.save` / `ap.load`: safetensors files (tensors plus a string → string metadata map).
extension LuaState {
    func installCheckpoint(_ ap: Int32) {
        register([
            LuaBinding("save", "ap.save(path, tensors[, metadata]): writes name → tensor (e.g. m:state_dict()) and string metadata as safetensors, atomically.") { call in
                let path = try call.string(1)
                let tensors = try LuaState.readStateDict(call, 2)
                let metadata = try LuaState.readStringTable(call, 3, context: "ap.save metadata")
                try SafeTensors.write(tensors, metadata: metadata, to: URL(fileURLWithPath: path))
                return 0
            },
            LuaBinding("load", "ap.load(path): the tensors (name → tensor, in file order) and the metadata table of a safetensors file.") { call in
                let (tensors, metadata) = try SafeTensors.read(URL(fileURLWithPath: try call.string(1)))
                LuaState.pushStateDict(call, tensors)
                LuaState.pushStringTable(call, metadata)
                return 2
            },
        ], in: ap, path: "ap")
    }
}

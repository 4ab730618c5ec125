import AutoProg
import CLua
import Foundation

/// `ap.image`: PNG files to and from [C, H, W] tensors in [0, 1], and image grids
/// (torchvision's `read_image`/`ToTensor`, `save_image` and `make_grid`).
extension LuaState {
    /// Called after `ap.image.save` wrote a PNG, with its file URL and the PNG bytes, so
    /// that a notebook runner can show the image next to the cell that saved it.
    public var onImageSaved: ((URL, Data) -> Void)? {
        get { imageSavedHook }
        set { imageSavedHook = newValue }
    }

    func installImage(_ ap: Int32) {
        pushSubtable(of: ap, "image")
        documentation["ap.image"] = "PNG images as [C, H, W] tensors in [0, 1]: ap.image.load, ap.image.save, ap.image.grid."
        register(imageFunctions, in: -1, path: "ap.image")
        lua_settop(L, -2)
    }

    private var imageFunctions: [LuaBinding] {
        [
            LuaBinding("load", "ap.image.load(path[, {channels=, background=1}]): a PNG as [C, H, W] in [0, 1] (ToTensor); channels 1-4 converts (gray ↔ RGB, alpha composited onto background), default keeps the file's.") { call in
                let path = try call.string(1)
                let o = try LuaOptions(call, 2, valid: ["channels", "background"], context: "ap.image.load")
                call.push(try PNG.read(URL(fileURLWithPath: path), channels: try o.integer("channels"),
                                       background: try o.float("background") ?? 1))
                return 1
            },
            LuaBinding("save", "ap.image.save(path, t): writes [C, H, W] (C = 1-4), [H, W] or [1, C, H, W] as an 8-bit PNG, atomically; values are clamped to [0, 1] (save_image without the grid; tile batches with ap.image.grid).") { call in
                let path = try call.string(1)
                var image = try call.tensor(2)
                if image.rank == 4 {
                    guard image.shape[0] == 1 else {
                        throw LuaBindingError("ap.image.save: a batch of \(image.shape[0]) images \(image.shape) is not one image (tile it with ap.image.grid first)")
                    }
                    image = try image.contiguous().reshaped(Array(image.shape.dropFirst()))
                }
                guard image.rank == 2 || image.rank == 3 else {
                    throw LuaBindingError("ap.image.save: tensor of shape \(image.shape) must be [C, H, W], [H, W] or [1, C, H, W]")
                }
                let png = try PNG.encode(image)
                let url = URL(fileURLWithPath: path)
                try AtomicFile.write(png, to: url)
                call.state.imageSavedHook?(url, png)
                return 0
            },
            LuaBinding("grid", "ap.image.grid(t[, {nrow=8, padding=2, pad_value=0}]): tiles [N, C, H, W] into one [C, H', W'] image, nrow per row (torchvision make_grid; one channel stays one channel).") { call in
                let images = try call.tensor(1)
                let o = try LuaOptions(call, 2, valid: ["nrow", "padding", "pad_value"], context: "ap.image.grid")
                call.push(try imageGrid(images, columns: try o.integer("nrow") ?? 8, padding: try o.integer("padding") ?? 2,
                                        padValue: try o.float("pad_value") ?? 0))
                return 1
            },
        ]
    }
}

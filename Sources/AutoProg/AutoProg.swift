/// autoprog: automated progressive learning for vision models (AutoProg, arXiv 2410.00350).
public enum AutoProgInfo {
    public static let version = "0.1.0"
}

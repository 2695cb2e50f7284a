import IntermeshCLI

@main
enum Main {
    static func main() async {
        await Intermesh.main(arguments: nil)
    }
}

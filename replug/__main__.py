from replug.cli import main

main()

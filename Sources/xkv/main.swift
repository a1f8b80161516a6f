print("xkv")

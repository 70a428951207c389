print("aerie")

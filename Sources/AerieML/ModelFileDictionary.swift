/// The preset dictionary of the model file's zlib stream: strings that most model files hold
/// (JSON keys, model and parameter names), so that even a small model's metadata compresses
/// well. Part of format version 2: changing a single byte makes existing files unreadable, so
/// a change needs a new `TabularModel.formatVersion`.
enum ModelFileDictionary {
    static let bytes: [UInt8] = Array(text.utf8)

    static let text = #"{"arrays":[{"count":,"name":"means","offset":0,"type":"f64"},{"count":"variances","log_priors","schema_fill","schema_offset","schema_scale","weights","bias","feature","threshold","right","leaf_values","tree_nodes","tree_leaf_values","i32","f32""confusion":[[,"metadata":{"classes":["0","1"],"kind":"naive-bayes","logistic-regression","random-forest","decision-tree","svm","knn","metrics":{"evaluatedOn":"train","test","regression":{"mae":,"r2":,"rmse":"missingValues":"drop","impute","parameters":{"C":"1.0","criterion":"gini","entropy","mse","max_depth","min_samples_leaf","min_samples_split","n_estimators":"100","bootstrap":"true","max_features":"sqrt","encoding":"one-hot","label","max_iter":"100","missing":"drop","scale":"none","standard","min-max","tol":"0.0001","var_smoothing":"1e-09"},"preprocessor":{"features":[{"categories":[],"encoding":"one-hot","fillCategory":0,"fillValue":0,"kind":"numeric","name":"f0"},{"categories":[],"encoding":"one-hot","fillCategory":0,"fillValue":0,"kind":"categorical","name":""offset":[],"scale":[],"scaling":"none"},"seed":0,"target":"y","task":"classification","testRows":0,"trainingRows":80000},"scalars":{"classes":2,"features":20,"outputs":"gamma","kernel","sv_rows","sv_cols","support_vectors","pair_offsets","pair_vectors","pair_coefficients","pair_rho","points","targets","rows","cols","k"}}"#
}

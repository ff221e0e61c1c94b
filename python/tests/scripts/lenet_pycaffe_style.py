# A script written the way pycaffe users write them (classification, net
# surgery, feature peeking, solving), run unedited against Cortado by
# test_pycaffe_script.py. Arguments: deploy prototxt, weights, a digit image,
# a work directory.
import sys

import numpy as np
import caffe

model_def, model_weights, image_file, work_dir = sys.argv[1:5]

caffe.set_mode_cpu()

net = caffe.Net(model_def,      # defines the structure of the model
                model_weights,  # contains the trained weights
                caffe.TEST)     # use test mode (e.g., don't perform dropout)

# the classic transformer set-up
transformer = caffe.io.Transformer({'data': net.blobs['data'].data.shape})
transformer.set_transpose('data', (2, 0, 1))  # move image channels to outermost dimension
transformer.set_raw_scale('data', 255)        # rescale from [0, 1] to [0, 255]
transformer.set_input_scale('data', 0.00390625)

net.blobs['data'].reshape(1, 1, 28, 28)
image = caffe.io.load_image(image_file, color=False)
transformed_image = transformer.preprocess('data', image)
net.blobs['data'].data[...] = transformed_image

output = net.forward()
output_prob = output['prob'][0]
print('predicted class is:', output_prob.argmax())
top_inds = output_prob.argsort()[::-1][:3]
print('top 3:', list(zip(output_prob[top_inds], top_inds)))

for layer_name, blob in net.blobs.items():
    print(layer_name + '\t' + str(blob.data.shape))
for layer_name, param in net.params.items():
    print(layer_name + '\t' + str(param[0].data.shape), str(param[1].data.shape))

feat = net.blobs['ip1'].data[0]
print('ip1 features: %d, %d active' % (feat.size, (feat > 0).sum()))

# a batch through forward_all
batch = np.array([transformed_image] * 5)
probs = net.forward_all(data=batch)['prob']
print('batch predictions:', probs.argmax(axis=1).tolist())

# net surgery: zero the "1" class and save the edited net
net.params['ip2'][0].data[1] = 0
net.params['ip2'][1].data[1] = -100
net.save(work_dir + '/surgery.caffemodel')
edited = caffe.Net(model_def, work_dir + '/surgery.caffemodel', caffe.TEST)
edited.blobs['data'].reshape(1, 1, 28, 28)
edited.blobs['data'].data[...] = transformed_image
print('after surgery:', edited.forward()['prob'][0].argmax())
